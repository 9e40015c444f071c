"""Attribution rules: per-component windows, defaults, aggregations and weights; credit, lateness and bounds.

Every duration is in seconds of *event time*. The defaults are project choices (no design source gives numbers,
SEEDS V2); ``docs/attribution.md`` says why each one is what it is. The weights are benchmark parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from schemas.rewards import RewardComponent
from streams.attribution.errors import AttributionConfigError

__all__ = [
    "COMPONENTS",
    "DEFAULT_VISIT_EVENT_TYPES",
    "Aggregation",
    "AttributionConfig",
    "ComponentRule",
    "CreditRule",
    "ValueClaim",
]

COMPONENTS: Final = (
    RewardComponent.TRANSACTION_VALUE,
    RewardComponent.CONVERSION,
    RewardComponent.SATISFACTION,
    RewardComponent.RETENTION,
    RewardComponent.PENALTY,
)
"""The attributed components, in emission order; ``composite`` is their weighted sum."""

DEFAULT_VISIT_EVENT_TYPES: Final = frozenset(
    {"page_view", "product_view", "search", "add_to_cart", "checkout_start", "purchase", "chat_message"}
)
"""Events that can open a *return visit* (the retention signal): things a shopper does, not things Kairos shows."""


class Aggregation(StrEnum):
    """How the credited outcomes of one decision's component combine into one value."""

    EARLIEST = "earliest"
    """The earliest outcome's credited value (ties: the smaller event id)."""
    SUM = "sum"
    """The sum of the credited values."""
    MAX = "max"
    """The largest credited value (ties: the earliest outcome)."""
    AVERAGE = "average"
    """The mean of the credited values."""


class CreditRule(StrEnum):
    """Which of a user's activated decisions get an outcome, and in what shares."""

    LAST_TOUCH = "last_touch"
    """All of it to the latest eligible decision (decision time, then decision id)."""
    TIME_DECAY = "time_decay"
    """Split across the eligible decisions, weights halving every ``half_life_s`` of decision age; shares sum to 1."""
    EVERY = "every"
    """Every eligible decision gets all of it (no split): for signals about the user rather than one decision."""


class ValueClaim(StrEnum):
    """Which part of a purchase a credited decision claims as its transaction value."""

    ORDER = "order"
    """The whole order, net of discounts, whatever the decision offered: the session's outcome after the decision
    (with credit ``every``, each decision's return from its trigger on, which is what choosing it changed)."""
    OFFERED = "offered"
    """Only what the decision offered: a product's lines, a category's lines; the whole order for the rest."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AttributionConfigError(message)


@dataclass(frozen=True, slots=True)
class ComponentRule:
    """How one component is attributed.

    Attributes:
        window_s: outcomes at event times in ``[decision - backward_s, decision + window_s]`` count. ``None``: the
            decision's own ``attribution_window_s``, capped at the longest configured window.
        backward_s: how far *before* the decision an outcome may be and still count (clock skew between the
            shopper's device and the trigger's clock).
        default: the value when no outcome was credited in the window.
        aggregation: how several credited outcomes combine.
        weight: the component's weight in the composite reward.
        credit: the credit rule for this component; ``None`` uses :attr:`AttributionConfig.credit`.
    """

    window_s: float | None = None
    backward_s: float = 5.0
    default: float = 0.0
    aggregation: Aggregation = Aggregation.SUM
    weight: float = 1.0
    credit: CreditRule | None = None

    def __post_init__(self) -> None:
        """Validate the ranges.

        Raises:
            AttributionConfigError: a non-positive window, a negative backward window, a default outside
                ``[-1, 1]`` or a non-finite weight.
        """
        _check(self.window_s is None or (math.isfinite(self.window_s) and self.window_s > 0), "window_s must be > 0")
        _check(math.isfinite(self.backward_s) and self.backward_s >= 0, "backward_s must be >= 0")
        _check(-1.0 <= self.default <= 1.0, "default must be within [-1, 1]")
        _check(math.isfinite(self.weight), "weight must be finite")


@dataclass(frozen=True, slots=True)
class AttributionConfig:
    """Everything the attributor needs to know, in one frozen value (documented defaults).

    Attributes:
        transaction_value: purchase value net of discounts (:attr:`value_claim`), squashed to ``[0, 1)`` by
            ``tanh(net / transaction_value_scale)``; summed; the decision's own window
            (``decide.attribution_window_s``, 3 h by default: a return-to-buy visit counts); every decision of the
            user in the window is credited (the session's return after it, not a share).
        conversion: 1 for a purchase (or, for an ``email_capture`` decision the shopper clicked, an
            ``email_signup``); max; the decision's own window; every decision credited.
        satisfaction: survey score 1..5 mapped to ``[-1, 1]``; chat sentiment when no survey came; 24 h; mean.
        retention: +1 for a return visit (another session's first event), -1 for a marketing unsubscribe; 7 days;
            the earliest signal; every decision in the window gets it.
        penalty: ``-dismiss_penalty`` per dismissal of *this* decision, ``-quick_exit_penalty`` when the session
            ends within ``quick_exit_s`` of this intervention being shown — only for a shown intervention (not
            ``none``: nothing was shown) whose trigger was not the shopper's own exit intent (they were leaving
            already); last touch; summed; clipped to ``[-1, 1]``.
        credit: the default credit rule (components with a rule of their own override it).
        value_claim: which part of an order a credited decision claims (:class:`ValueClaim`).
        half_life_s: the half-life of :attr:`CreditRule.TIME_DECAY`.
        honour_tokens: an outcome naming an eligible decision (``decision_id`` on purchases, surveys and
            intervention feedback) goes to that decision alone under a *splitting* rule (last touch, time decay);
            ``every`` is not a split, so every eligible decision keeps it.
        report_organic: also report outcomes that name no decision and that no decision was eligible for as
            unattributed (``no_decision``); off by default, since most purchases follow no intervention.
        allowed_lateness_s: how far behind the watermark a record may arrive and still be attributed exactly as
            in order; a component is emitted once its window (plus backward window) is this far behind.
        activation_timeout_s: an impression more than this after its decision does not activate it; a decision
            still not shown then is closed as *not shown*.
        transaction_value_scale: the net amount (order currency) that maps to ``tanh(1) = 0.76``.
        signup_value: the conversion value of a sign-up an e-mail capture earned (a purchase's is 1): a lead is worth
            a fraction of a sale (the simulator values a lead at 2 EUR against a ~55 EUR order; at 1 the policy
            learns to ask everybody for an e-mail address).
        dismiss_penalty: the penalty of one dismissal (raw, before the weight).
        quick_exit_s: a session end within this many seconds of the intervention being shown is penalised.
        quick_exit_penalty: that penalty (raw, before the weight).
        early_horizon_s: the components whose window ends within this of the decision (with the defaults:
            transaction value and conversion at 3 h, penalty at 30 min) make the decision's *early* reward, emitted
            once they are all final: the composite with the slower components (satisfaction 24 h, retention 7 days)
            at their defaults. The online learner learns from it (``learn.reward``), hours instead of a week after
            the decision. With no component that short, the early reward is the composite.
        not_shown_reward: the composite reward of a decision never shown; ``None``: the composite of the
            components' defaults, i.e. what a shown decision that earned nothing gets.
        visit_event_types: event types whose first occurrence in a new session is a return visit.
        max_pending: pending decisions held per partition; beyond it the oldest (by arrival) is closed early.
        max_pending_per_user: pending decisions held per user; beyond it the user's oldest is closed early.
        max_outcomes_per_component: outcomes kept per decision and component for sums and means; more are dropped.
        dedup_capacity: outcome event ids remembered for de-duplication.
        dedup_window_s: how far behind the newest one an outcome event id is still remembered.
        session_memory_s: how long the first event of a session is remembered (a later event of a forgotten
            session would look like a new visit).
    """

    transaction_value: ComponentRule = field(
        default_factory=lambda: ComponentRule(aggregation=Aggregation.SUM, credit=CreditRule.EVERY)
    )
    conversion: ComponentRule = field(
        default_factory=lambda: ComponentRule(aggregation=Aggregation.MAX, weight=0.5, credit=CreditRule.EVERY)
    )
    satisfaction: ComponentRule = field(
        default_factory=lambda: ComponentRule(window_s=86_400.0, aggregation=Aggregation.AVERAGE, weight=0.5)
    )
    retention: ComponentRule = field(
        default_factory=lambda: ComponentRule(
            window_s=7 * 86_400.0,
            backward_s=0.0,
            aggregation=Aggregation.EARLIEST,
            weight=0.25,
            credit=CreditRule.EVERY,
        )
    )
    penalty: ComponentRule = field(default_factory=lambda: ComponentRule(window_s=1800.0))
    credit: CreditRule = CreditRule.LAST_TOUCH
    value_claim: ValueClaim = ValueClaim.ORDER
    half_life_s: float = 600.0
    honour_tokens: bool = True
    report_organic: bool = False
    allowed_lateness_s: float = 300.0
    activation_timeout_s: float = 300.0
    transaction_value_scale: float = 100.0
    signup_value: float = 0.1
    dismiss_penalty: float = 0.05
    quick_exit_s: float = 30.0
    quick_exit_penalty: float = 0.1
    early_horizon_s: float = 10_800.0
    not_shown_reward: float | None = None
    visit_event_types: frozenset[str] = DEFAULT_VISIT_EVENT_TYPES
    max_pending: int = 200_000
    max_pending_per_user: int = 64
    max_outcomes_per_component: int = 64
    dedup_capacity: int = 100_000
    dedup_window_s: float = 3600.0
    session_memory_s: float = 86_400.0

    def __post_init__(self) -> None:
        """Validate ranges and consistency.

        Raises:
            AttributionConfigError: a value out of range, or no component with a configured window (the longest
                configured window caps the decisions' own windows).
        """
        for name in ("half_life_s", "transaction_value_scale", "dedup_window_s", "session_memory_s"):
            value = getattr(self, name)
            _check(math.isfinite(value) and value > 0, f"{name} must be > 0")
        for name in (
            "allowed_lateness_s",
            "activation_timeout_s",
            "dismiss_penalty",
            "quick_exit_s",
            "signup_value",
            "early_horizon_s",
        ):
            value = getattr(self, name)
            _check(math.isfinite(value) and value >= 0, f"{name} must be >= 0")
        _check(math.isfinite(self.quick_exit_penalty) and self.quick_exit_penalty >= 0, "quick_exit_penalty >= 0")
        for name in ("max_pending", "max_pending_per_user", "max_outcomes_per_component", "dedup_capacity"):
            _check(getattr(self, name) >= 1, f"{name} must be >= 1")
        _check(self.not_shown_reward is None or math.isfinite(self.not_shown_reward), "not_shown_reward must be finite")
        _check(any(self.rule(c).window_s is not None for c in COMPONENTS), "at least one component needs a window_s")

    def rule(self, component: RewardComponent) -> ComponentRule:
        """The rule of one attributed component.

        Raises:
            AttributionConfigError: ``component`` is ``composite`` (it has no rule of its own).
        """
        if component is RewardComponent.TRANSACTION_VALUE:
            return self.transaction_value
        if component is RewardComponent.CONVERSION:
            return self.conversion
        if component is RewardComponent.SATISFACTION:
            return self.satisfaction
        if component is RewardComponent.RETENTION:
            return self.retention
        if component is RewardComponent.PENALTY:
            return self.penalty
        raise AttributionConfigError(f"{component.value} has no rule")

    def credit_for(self, component: RewardComponent) -> CreditRule:
        """The credit rule that applies to ``component``."""
        return self.rule(component).credit or self.credit

    @property
    def longest_window_s(self) -> float:
        """The longest configured window: the cap on a decision's own ``attribution_window_s``."""
        return max(w for c in COMPONENTS if (w := self.rule(c).window_s) is not None)

    def window_s(self, component: RewardComponent, decision_window_s: float) -> float:
        """The window of ``component`` for a decision whose own ``attribution_window_s`` is ``decision_window_s``:
        the rule's, else the decision's own capped at the longest configured window.

        >>> AttributionConfig().window_s(RewardComponent.CONVERSION, 10_800), AttributionConfig().window_s(
        ...     RewardComponent.PENALTY, 10_800)
        (10800.0, 1800.0)
        """
        configured = self.rule(component).window_s
        return configured if configured is not None else min(float(decision_window_s), self.longest_window_s)

    def early_components(self, decision_window_s: float) -> tuple[RewardComponent, ...]:
        """The components of a decision's early reward: those whose window ends within :attr:`early_horizon_s`
        (every component when none does).

        >>> [c.value for c in AttributionConfig().early_components(10_800)]
        ['transaction_value', 'conversion', 'penalty']
        """
        early = tuple(c for c in COMPONENTS if self.window_s(c, decision_window_s) <= self.early_horizon_s)
        return early or COMPONENTS

    def reward_delay_s(self, decision_window_s: float, *, early: bool) -> float:
        """Event-time seconds from a decision to its ``early`` (or ``composite``) reward: the last of the
        components' closes (window plus backward window) plus the allowed lateness.

        Args:
            decision_window_s: the decision's own ``attribution_window_s``.
            early: the early reward (else the composite).

        >>> config = AttributionConfig()
        >>> config.reward_delay_s(10_800, early=True), config.reward_delay_s(10_800, early=False)
        (11105.0, 605100.0)
        """
        components = self.early_components(decision_window_s) if early else COMPONENTS
        closes = (self.window_s(c, decision_window_s) + self.rule(c).backward_s for c in components)
        return max(closes) + self.allowed_lateness_s

    @property
    def max_backward_s(self) -> float:
        """The largest backward window of any component."""
        return max(self.rule(c).backward_s for c in COMPONENTS)

    @property
    def nothing_happened_reward(self) -> float:
        """The composite of the components' defaults: what a decision that earned nothing gets.

        >>> AttributionConfig().nothing_happened_reward
        0.0
        """
        return sum(self.rule(c).weight * self.rule(c).default for c in COMPONENTS)
