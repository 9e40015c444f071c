"""Decisions as published on ``kairos.interventions.v1``: the chosen action, how it was chosen, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, TypeAlias

from msgspec import Meta, Struct

from schemas.fields import MAX_SAFE_INT, AwareDatetime, Id, Label, Probability, SchemaVersion, Text
from schemas.invariants import missing_identity, naive_datetime

__all__ = [
    "Action",
    "Decision",
    "FeatureContribution",
    "InterventionType",
    "PolicySource",
    "ScoredCandidate",
]

PolicySource: TypeAlias = Literal["triton", "fallback", "rules"]
DiscountPct: TypeAlias = Annotated[float, Meta(ge=0.0, le=100.0, description="Percent off, 0-100.")]
ChosenPropensity: TypeAlias = Annotated[
    float, Meta(gt=0.0, le=1.0, description="Probability the policy gave the chosen action, in (0, 1].")
]


class InterventionType(StrEnum):
    """What the storefront is asked to do.

    Adding a value is a breaking change for readers (they reject unknown values): deploy readers first.
    """

    NONE = "none"
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"
    DISCOUNT = "discount"
    CHECKOUT_NUDGE = "checkout_nudge"
    EMAIL_CAPTURE = "email_capture"
    CONCIERGE_MESSAGE = "concierge_message"


class Action(Struct, frozen=True, kw_only=True):
    """One intervention with its parameters; ``type=none`` means do nothing."""

    type: InterventionType
    product_id: Id | None = None
    category: Label | None = None
    discount_pct: DiscountPct | None = None
    message: Text | None = None


class ScoredCandidate(Struct, frozen=True, kw_only=True):
    """An action the policy considered, its score and the probability it would have been chosen."""

    action: Action
    score: float
    propensity: Probability


class FeatureContribution(Struct, frozen=True, kw_only=True):
    """One feature's value and its contribution to the chosen action's score."""

    name: Label
    value: float
    contribution: float


class Decision(Struct, frozen=True, kw_only=True):
    """The engine's answer to one trigger event.

    ``event_time`` is the decision time in event time (the trigger's clock), so replays reproduce it.
    ``propensity`` is logged for off-policy evaluation; ``policy_source`` records which path decided.
    """

    decision_id: Id
    event_time: AwareDatetime
    schema_version: SchemaVersion
    session_id: Id
    trigger_event_id: Id
    trigger_event_type: Label
    action: Action
    propensity: ChosenPropensity
    policy_name: Id
    policy_version: Id
    policy_source: PolicySource
    attribution_window_s: Annotated[int, Meta(ge=1, le=MAX_SAFE_INT)]
    user_id: Id | None = None
    anonymous_id: Id | None = None
    candidates: list[ScoredCandidate] = []
    feature_hash: Label | None = None
    feature_version: Label | None = None
    guardrails: list[Label] = []
    explanation: list[FeatureContribution] = []
    arm: Label | None = None

    def __post_init__(self) -> None:
        """Same identity and time rules as events.

        Raises:
            ContractViolationError: no identity, or a naive ``event_time``.
        """
        if self.user_id is None and self.anonymous_id is None:
            raise missing_identity()
        if self.event_time.tzinfo is None:
            raise naive_datetime("$.event_time")
