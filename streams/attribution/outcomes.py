"""Outcomes: the parts of an event that can earn a decision a reward component, and their raw values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schemas.decisions import Action
from schemas.events import (
    ChatMessage,
    ConsentUpdate,
    EmailSignup,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    Purchase,
    SessionEnd,
    SurveyResponse,
)
from schemas.rewards import RewardComponent
from streams.attribution.config import AttributionConfig
from streams.features.text import TextSignals
from streams.features.windows import to_micros

__all__ = [
    "FEEDBACK_CLASSES",
    "OUTCOME_CLASSES",
    "Outcome",
    "OutcomeKind",
    "PurchaseLine",
    "attributable_net",
    "outcomes_of",
    "survey_value",
    "visit",
]

FEEDBACK_CLASSES: Final = (InterventionImpression, InterventionClick, InterventionDismiss)
"""Intervention feedback: activates the decision it names (a dismissal is also a penalty outcome)."""

OUTCOME_CLASSES: Final = frozenset(
    {Purchase, EmailSignup, SurveyResponse, ChatMessage, ConsentUpdate, SessionEnd, *FEEDBACK_CLASSES}
)
"""Event types that can be an outcome or activate a decision (return visits are found separately, per session)."""


class OutcomeKind(StrEnum):
    """What happened, which decides the component and who may be credited."""

    PURCHASE_VALUE = "purchase_value"
    PURCHASE = "purchase"
    SIGNUP = "signup"
    SURVEY = "survey"
    CHAT = "chat"
    VISIT = "visit"
    UNSUBSCRIBE = "unsubscribe"
    DISMISSAL = "dismissal"
    SESSION_END = "session_end"


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    """One purchased line, net of its own discount."""

    product_id: str
    category: str | None
    net: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """One event's contribution to one component, before credit.

    Attributes:
        event_id: the event's id (de-duplication, reward ids).
        kind: what happened.
        component: the component it feeds.
        time_us: event time, microseconds since the epoch.
        user_key: the event's partition key (``user_id``, else ``anonymous_id``).
        session_id: the event's session.
        raw: the value before the credit share (for purchase value: the whole order's net amount).
        token: the ``decision_id`` the event names, if any.
        tier: 0 for primary evidence, 1 for a proxy used only when no primary evidence came (chat sentiment).
        lines: a purchase's lines (which part of the order a product-specific decision earned).
    """

    event_id: str
    kind: OutcomeKind
    component: RewardComponent
    time_us: int
    user_key: str
    session_id: str
    raw: float
    token: str | None = None
    tier: int = 0
    lines: tuple[PurchaseLine, ...] = ()

    @property
    def primary(self) -> bool:
        """Whether this outcome speaks for its event when nobody is credited (counted, reported): not a return
        visit, and for a purchase its conversion rather than its value."""
        return self.kind not in (OutcomeKind.PURCHASE_VALUE, OutcomeKind.VISIT)


def survey_value(score: int) -> float:
    """A 1-5 satisfaction score on ``[-1, 1]``.

    >>> [survey_value(s) for s in (1, 3, 5)]
    [-1.0, 0.0, 1.0]
    """
    return (score - 3) / 2.0


def attributable_net(outcome: Outcome, action: Action) -> float | None:
    """The part of a purchase a decision's action can claim, net of discounts; ``None`` when it claims none.

    A decision naming a product claims that product's lines; one naming only a category claims that category's
    lines; any other (discount, checkout nudge, concierge, e-mail capture, none) claims the whole order.

    >>> from schemas.decisions import InterventionType
    >>> lines = (PurchaseLine("p1", "shoes", 80.0), PurchaseLine("p2", "socks", 9.5))
    >>> order = Outcome("e", OutcomeKind.PURCHASE_VALUE, RewardComponent.TRANSACTION_VALUE, 0, "u", "s", 85.0,
    ...                 lines=lines)
    >>> attributable_net(order, Action(type=InterventionType.UPSELL, product_id="p2"))
    9.5
    >>> attributable_net(order, Action(type=InterventionType.CROSS_SELL, category="hats")) is None
    True
    >>> attributable_net(order, Action(type=InterventionType.CHECKOUT_NUDGE))
    85.0
    """
    if action.product_id is not None:
        matching = [line.net for line in outcome.lines if line.product_id == action.product_id]
    elif action.category is not None:
        matching = [line.net for line in outcome.lines if line.category == action.category]
    else:
        return outcome.raw
    return sum(matching) if matching else None


def _order_net(event: Purchase) -> tuple[float, tuple[PurchaseLine, ...]]:
    lines = tuple(
        PurchaseLine(item.product_id, item.category, max(0.0, item.quantity * item.unit_price - item.discount))
        for item in event.items
    )
    gross = sum(item.quantity * item.unit_price for item in event.items)
    line_discounts = sum(item.discount for item in event.items)
    return max(0.0, gross - max(event.discount_total, line_discounts)), lines


def visit(event: Event) -> Outcome:
    """The retention outcome of ``event`` as the first event of its session (a return visit, +1)."""
    return Outcome(
        event.event_id,
        OutcomeKind.VISIT,
        RewardComponent.RETENTION,
        to_micros(event.event_time),
        event.partition_key,
        event.session_id,
        1.0,
    )


def outcomes_of(event: Event, config: AttributionConfig, signals: TextSignals) -> tuple[Outcome, ...]:
    """The outcomes one event carries (return visits are found separately, per session).

    Args:
        event: a validated event.
        config: the penalty constants and the sign-up value.
        signals: the sentiment of chat messages.

    Returns:
        Zero or more outcomes, one per component the event feeds.
    """
    base = (event.event_id, to_micros(event.event_time), event.partition_key, event.session_id)

    def make(
        kind: OutcomeKind,
        component: RewardComponent,
        raw: float,
        *,
        token: str | None = None,
        tier: int = 0,
        lines: tuple[PurchaseLine, ...] = (),
    ) -> Outcome:
        event_id, time_us, user_key, session_id = base
        return Outcome(event_id, kind, component, time_us, user_key, session_id, raw, token, tier, lines)

    if isinstance(event, Purchase):
        net, lines = _order_net(event)
        return (
            make(
                OutcomeKind.PURCHASE_VALUE, RewardComponent.TRANSACTION_VALUE, net, token=event.decision_id, lines=lines
            ),
            make(OutcomeKind.PURCHASE, RewardComponent.CONVERSION, 1.0, token=event.decision_id),
        )
    if isinstance(event, EmailSignup):
        return (make(OutcomeKind.SIGNUP, RewardComponent.CONVERSION, config.signup_value),)
    if isinstance(event, SurveyResponse):
        return (
            make(OutcomeKind.SURVEY, RewardComponent.SATISFACTION, survey_value(event.score), token=event.decision_id),
        )
    if isinstance(event, ChatMessage):
        sentiment = signals.analyse(event.text).sentiment
        return (make(OutcomeKind.CHAT, RewardComponent.SATISFACTION, sentiment, tier=1),)
    if isinstance(event, ConsentUpdate) and event.marketing is False:
        return (make(OutcomeKind.UNSUBSCRIBE, RewardComponent.RETENTION, -1.0),)
    if isinstance(event, SessionEnd):
        return (make(OutcomeKind.SESSION_END, RewardComponent.PENALTY, -config.quick_exit_penalty),)
    if isinstance(event, InterventionDismiss):
        return (make(OutcomeKind.DISMISSAL, RewardComponent.PENALTY, -config.dismiss_penalty, token=event.decision_id),)
    return ()
