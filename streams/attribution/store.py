"""The pending-decision store of one partition: decisions awaiting their outcomes, indexed by user and session."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from schemas.decisions import Action, Decision, InterventionType, PolicySource, ScoredCandidate
from schemas.invariants import missing_identity
from schemas.rewards import RewardComponent
from streams.attribution.config import COMPONENTS, AttributionConfig
from streams.attribution.tally import Tally
from streams.features.windows import MICROS_PER_SECOND, to_micros

__all__ = ["DecisionInfo", "PendingDecision", "PendingStore", "micros"]


def micros(seconds: float) -> int:
    """Seconds as whole microseconds.

    >>> micros(1.5), micros(0.0)
    (1500000, 0)
    """
    return round(seconds * MICROS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class DecisionInfo:
    """What the attributor keeps of a :class:`~schemas.decisions.Decision` (no explanation, no guardrails).

    ``time_us`` is the decision's event time in microseconds; ``user_key`` is ``user_id``, else ``anonymous_id``.
    """

    decision_id: str
    user_key: str
    session_id: str
    trigger_event_id: str
    time_us: int
    action: Action
    propensity: float
    policy_name: str
    policy_version: str
    policy_source: PolicySource
    attribution_window_s: int
    user_id: str | None = None
    anonymous_id: str | None = None
    candidates: tuple[ScoredCandidate, ...] = ()
    feature_hash: str | None = None
    feature_version: str | None = None
    arm: str | None = None
    trigger_event_type: str = ""

    @classmethod
    def of(cls, decision: Decision) -> DecisionInfo:
        """The parts of ``decision`` attribution and learning need."""
        key = decision.user_id if decision.user_id is not None else decision.anonymous_id
        if key is None:  # unreachable for a decoded Decision (its __post_init__ checks), kept for type safety
            raise missing_identity()
        return cls(
            decision_id=decision.decision_id,
            user_key=key,
            session_id=decision.session_id,
            trigger_event_id=decision.trigger_event_id,
            time_us=to_micros(decision.event_time),
            action=decision.action,
            propensity=decision.propensity,
            policy_name=decision.policy_name,
            policy_version=decision.policy_version,
            policy_source=decision.policy_source,
            attribution_window_s=decision.attribution_window_s,
            user_id=decision.user_id,
            anonymous_id=decision.anonymous_id,
            candidates=tuple(decision.candidates),
            feature_hash=decision.feature_hash,
            feature_version=decision.feature_version,
            arm=decision.arm,
            trigger_event_type=decision.trigger_event_type,
        )


@dataclass(slots=True)
class PendingDecision:
    """A decision awaiting its outcomes: its windows, activation and tallies, and what was already emitted.

    Attributes:
        info: the decision.
        windows: per component, the event-time interval ``[start_us, end_us]`` outcomes must fall in.
        closes: per component, when it may be emitted: ``end_us`` plus the backward window (an outcome at
            ``end_us`` is resolved only once the watermark minus the lateness is past ``end_us + backward``).
        activation_deadline_us: an impression later than this does not count.
        activated_us: when the intervention was first shown (decision time for ``none``), else ``None``.
        clicked_us: when the shopper first clicked it (accepted the offer), else ``None``.
        tallies: per ``(component, tier)``, the credited outcomes.
        emitted: per emitted component, its value and contributing event ids.
        early: the components of the early reward (:attr:`AttributionConfig.early_horizon_s`), in order.
        early_sent: whether the early reward was emitted.
    """

    info: DecisionInfo
    windows: dict[RewardComponent, tuple[int, int]]
    closes: dict[RewardComponent, int]
    activation_deadline_us: int
    activated_us: int | None = None
    clicked_us: int | None = None
    tallies: dict[tuple[RewardComponent, int], Tally] = field(default_factory=dict)
    emitted: dict[RewardComponent, tuple[float, tuple[str, ...]]] = field(default_factory=dict)
    early: tuple[RewardComponent, ...] = COMPONENTS
    early_sent: bool = False

    @classmethod
    def open(cls, info: DecisionInfo, config: AttributionConfig) -> PendingDecision:
        """A fresh pending decision with its windows from ``config`` (``none`` actions are active at once)."""
        windows: dict[RewardComponent, tuple[int, int]] = {}
        closes: dict[RewardComponent, int] = {}
        for component in COMPONENTS:
            backward_us = micros(config.rule(component).backward_s)
            end = info.time_us + micros(config.window_s(component, info.attribution_window_s))
            windows[component] = (info.time_us - backward_us, end)
            closes[component] = end + backward_us
        active = info.time_us if info.action.type is InterventionType.NONE else None
        early = config.early_components(info.attribution_window_s)
        return cls(info, windows, closes, info.time_us + micros(config.activation_timeout_s), active, early=early)

    @property
    def early_due(self) -> bool:
        """Whether the early reward is ready and not sent: every early component emitted."""
        return not self.early_sent and all(c in self.emitted for c in self.early)

    @property
    def last_close_us(self) -> int:
        """When the last component may be emitted."""
        return max(self.closes.values())

    def is_open(self, component: RewardComponent) -> bool:
        """Whether ``component`` has not been emitted yet."""
        return component not in self.emitted

    def tally(self, component: RewardComponent, tier: int, config: AttributionConfig) -> Tally:
        """The tally of ``(component, tier)``, created on first use."""
        key = (component, tier)
        found = self.tallies.get(key)
        if found is None:
            rule = config.rule(component)
            found = self.tallies[key] = Tally(rule.aggregation, config.max_outcomes_per_component)
        return found


class PendingStore:
    """Pending decisions by id (in arrival order), indexed by user key and session, plus recently closed ids.

    Closed ids are remembered (with whether the decision was shown) until a copy of the decision would be stale
    anyway, so a replayed decision is never reopened and emitted twice.
    """

    __slots__ = ("_by_session", "_by_user", "_closed", "_closed_order", "_decisions")

    def __init__(self) -> None:
        self._decisions: dict[str, PendingDecision] = {}
        self._by_user: dict[str, set[str]] = {}
        self._by_session: dict[str, set[str]] = {}
        self._closed: dict[str, tuple[int, bool]] = {}
        self._closed_order: list[tuple[int, str]] = []  # heap of (decision time, id)

    def __len__(self) -> int:
        return len(self._decisions)

    def get(self, decision_id: str) -> PendingDecision | None:
        """The pending decision, or ``None``."""
        return self._decisions.get(decision_id)

    def closed(self, decision_id: str) -> tuple[int, bool] | None:
        """``None`` when not recently closed, else the closed decision's time and whether it had been shown."""
        return self._closed.get(decision_id)

    def add(self, pending: PendingDecision) -> None:
        """Hold ``pending`` (its id must be new)."""
        info = pending.info
        self._decisions[info.decision_id] = pending
        self._by_user.setdefault(info.user_key, set()).add(info.decision_id)
        self._by_session.setdefault(info.session_id, set()).add(info.decision_id)

    def remove(self, decision_id: str) -> PendingDecision:
        """Stop holding a decision and remember that it closed."""
        pending = self._decisions.pop(decision_id)
        info = pending.info
        for index, key in ((self._by_user, info.user_key), (self._by_session, info.session_id)):
            ids = index[key]
            ids.discard(decision_id)
            if not ids:
                del index[key]
        self._closed[decision_id] = (info.time_us, pending.activated_us is not None)
        heapq.heappush(self._closed_order, (info.time_us, decision_id))
        return pending

    def candidates(self, user_key: str, session_id: str) -> list[PendingDecision]:
        """The user's and the session's pending decisions, oldest first (decision time, then id)."""
        ids = self._by_user.get(user_key, set()) | self._by_session.get(session_id, set())
        found = [self._decisions[i] for i in ids]
        found.sort(key=lambda p: (p.info.time_us, p.info.decision_id))
        return found

    def user_ids(self, user_key: str) -> set[str]:
        """The ids of the user's pending decisions."""
        return self._by_user.get(user_key, set())

    def oldest_of(self, user_key: str) -> str:
        """The id of the user's earliest pending decision (decision time, then id); the user must have one."""
        return min(self._by_user[user_key], key=lambda i: (self._decisions[i].info.time_us, i))

    def oldest(self) -> str | None:
        """The id of the decision that arrived first, or ``None``."""
        return next(iter(self._decisions), None)

    def forget_closed(self, before_us: int) -> None:
        """Forget closed ids of decisions made before ``before_us`` (a copy of them would be stale)."""
        order = self._closed_order
        while order and order[0][0] < before_us:
            _, decision_id = heapq.heappop(order)
            self._closed.pop(decision_id, None)
