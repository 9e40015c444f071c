"""Reward records: a component's final value from its tallies, the composite, and the wire record."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

from schemas.fields import CURRENT_SCHEMA_VERSION
from schemas.rewards import Reward, RewardComponent, reward_id_for
from streams.attribution.config import COMPONENTS, AttributionConfig
from streams.attribution.results import Emission, Settled, Unattributed
from streams.attribution.store import DecisionInfo, PendingDecision

__all__ = ["Outbox", "component_value", "composite_value", "from_micros", "reward_record"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def from_micros(time_us: int) -> datetime:
    """The UTC datetime of microseconds since the epoch.

    >>> from_micros(1_500_000).isoformat()
    '1970-01-01T00:00:01.500000+00:00'
    """
    return _EPOCH + timedelta(microseconds=time_us)


def component_value(
    pending: PendingDecision, component: RewardComponent, config: AttributionConfig
) -> tuple[float, tuple[str, ...]]:
    """A component's value and contributing event ids, from what was credited so far.

    Primary evidence (tier 0) wins over a proxy (tier 1, chat sentiment for satisfaction); nothing credited
    gives the rule's default. Transaction value is ``tanh(net / transaction_value_scale)``; every other
    component is clipped to ``[-1, 1]``.
    """
    for tier in (0, 1):
        tally = pending.tallies.get((component, tier))
        total = tally.total() if tally is not None else None
        if tally is not None and total is not None:
            if component is RewardComponent.TRANSACTION_VALUE:
                value = math.tanh(total / config.transaction_value_scale)
            else:
                value = min(1.0, max(-1.0, total))
            return value, tuple(tally.event_ids())
    return config.rule(component).default, ()


def composite_value(values: dict[RewardComponent, float], config: AttributionConfig) -> float:
    """The weighted sum of the component values (components in their fixed order).

    >>> values = {RewardComponent.TRANSACTION_VALUE: 0.5, RewardComponent.CONVERSION: 1.0}
    >>> composite_value(values, AttributionConfig())  # 1.0 * 0.5 + 0.5 * 1.0
    1.0
    """
    return sum(config.rule(c).weight * values[c] for c in COMPONENTS if c in values)


def reward_record(
    info: DecisionInfo, component: RewardComponent, value: float, event_ids: tuple[str, ...], at_us: int
) -> Reward:
    """The final reward record of one decision's component (``final`` is always true: values never change).

    Args:
        info: the decision.
        component: the component (or ``composite``).
        value: its value.
        event_ids: the outcome events it came from.
        at_us: its event time (the window's end), microseconds since the epoch.
    """
    ids = sorted(event_ids)
    return Reward(
        reward_id=reward_id_for(info.decision_id, component, ids, final=True),
        decision_id=info.decision_id,
        component=component,
        value=value,
        final=True,
        event_time=from_micros(at_us),
        outcome_event_ids=ids,
        policy_name=info.policy_name,
        policy_version=info.policy_version,
        schema_version=CURRENT_SCHEMA_VERSION,
        user_id=info.user_id,
        anonymous_id=info.anonymous_id,
    )


class Outbox:
    """What the attributor has released since the caller last took it, built in a deterministic order."""

    __slots__ = ("config", "rewards", "settled", "unattributed")

    def __init__(self, config: AttributionConfig) -> None:
        self.config = config
        self.rewards: list[Reward] = []
        self.unattributed: list[Unattributed] = []
        self.settled: list[Settled] = []

    def component(self, pending: PendingDecision, component: RewardComponent) -> None:
        """Emit one component's final value and mark it emitted on ``pending``."""
        value, event_ids = component_value(pending, component, self.config)
        pending.emitted[component] = (value, event_ids)
        self.rewards.append(reward_record(pending.info, component, value, event_ids, pending.windows[component][1]))

    def early(self, pending: PendingDecision) -> None:
        """Emit the early reward of a decision whose early components are all emitted (once): the composite with
        the components still open at their defaults."""
        config = self.config
        values = {c: pending.emitted[c][0] if c in pending.early else config.rule(c).default for c in COMPONENTS}
        event_ids = tuple(sorted({e for c in pending.early for e in pending.emitted[c][1]}))
        at_us = max(pending.windows[c][1] for c in pending.early)
        total = composite_value(values, config)
        self.rewards.append(reward_record(pending.info, RewardComponent.EARLY, total, event_ids, at_us))
        pending.early_sent = True

    def composite(self, pending: PendingDecision, *, evicted: bool) -> None:
        """Emit the composite of a decision whose components are all emitted."""
        values = {c: pending.emitted[c][0] for c in COMPONENTS}
        total = composite_value(values, self.config)
        event_ids = tuple(sorted({e for c in COMPONENTS for e in pending.emitted[c][1]}))
        at_us = max(end for _, end in pending.windows.values())
        self.rewards.append(reward_record(pending.info, RewardComponent.COMPOSITE, total, event_ids, at_us))
        self.settled.append(Settled(pending.info, True, {**values, RewardComponent.COMPOSITE: total}, evicted))

    def not_shown(self, pending: PendingDecision, *, evicted: bool) -> None:
        """Emit the one reward of a decision never shown: ``not_shown_reward`` as its composite."""
        config = self.config
        total = config.not_shown_reward if config.not_shown_reward is not None else config.nothing_happened_reward
        at_us = pending.activation_deadline_us
        self.rewards.append(reward_record(pending.info, RewardComponent.COMPOSITE, total, (), at_us))
        self.rewards.append(reward_record(pending.info, RewardComponent.EARLY, total, (), at_us))
        pending.early_sent = True
        self.settled.append(Settled(pending.info, False, {RewardComponent.COMPOSITE: total}, evicted))

    def take(self) -> Emission:
        """Everything released so far; the outbox is empty afterwards."""
        emission = Emission(tuple(self.rewards), tuple(self.unattributed), tuple(self.settled))
        self.rewards, self.unattributed, self.settled = [], [], []
        return emission
