"""Rewards as published on ``kairos.rewards.v1``: what a decision earned, per component, partial or final."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum

from msgspec import Struct

from schemas.fields import AwareDatetime, Id, SchemaVersion
from schemas.invariants import naive_datetime

__all__ = ["Reward", "RewardComponent", "reward_id_for"]


class RewardComponent(StrEnum):
    """Which part of the reward a :class:`Reward` carries; ``composite`` is their weighted sum.

    ``early`` is the composite as it stands once the components that close within the attribution's early horizon
    (3 h by default: transaction value, conversion, penalty) are final, the slower ones (satisfaction, retention)
    counted at their defaults: what the online learner learns from, days before the composite closes.
    """

    TRANSACTION_VALUE = "transaction_value"
    CONVERSION = "conversion"
    SATISFACTION = "satisfaction"
    RETENTION = "retention"
    PENALTY = "penalty"
    COMPOSITE = "composite"
    EARLY = "early"


class Reward(Struct, frozen=True, kw_only=True):
    """One reward for one decision.

    ``final`` is true once the attribution window has closed and the value will not change. ``reward_id`` is
    deterministic (:func:`reward_id_for`), so a replay emits the same ids and readers can de-duplicate.
    """

    reward_id: Id
    decision_id: Id
    component: RewardComponent
    value: float
    final: bool
    event_time: AwareDatetime
    outcome_event_ids: list[Id]
    policy_name: Id
    policy_version: Id
    schema_version: SchemaVersion
    user_id: Id | None = None
    anonymous_id: Id | None = None

    def __post_init__(self) -> None:
        """Reject a naive ``event_time`` built in Python (the decoder rejects it on the wire).

        Raises:
            ContractViolationError: ``INVALID_VALUE`` for a naive ``event_time``.
        """
        if self.event_time.tzinfo is None:
            raise naive_datetime("$.event_time")


def reward_id_for(
    decision_id: str, component: RewardComponent, outcome_event_ids: Iterable[str], *, final: bool
) -> str:
    """The deterministic id of a reward: a digest of what it is about, independent of outcome order.

    Args:
        decision_id: the rewarded decision.
        component: the reward component.
        outcome_event_ids: the events that produced the value (order does not matter).
        final: whether this is the final reward for the window.

    Returns:
        32 lowercase hex digits.

    >>> a = reward_id_for("d-1", RewardComponent.CONVERSION, ["e-2", "e-1"], final=True)
    >>> a == reward_id_for("d-1", RewardComponent.CONVERSION, ["e-1", "e-2"], final=True)
    True
    >>> a == reward_id_for("d-1", RewardComponent.CONVERSION, ["e-1", "e-2"], final=False)
    False
    """
    parts = [decision_id, component.value, "final" if final else "partial", *sorted(outcome_event_ids)]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
