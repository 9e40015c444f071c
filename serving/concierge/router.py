"""Rules-first routing of a shopper's message: fixed answers for known topics, the language model for the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from serving.concierge.config import ConciergeConfig
from serving.concierge.intent import IntentPrediction

__all__ = ["ROUTING_TABLE", "Route", "RouteDecision", "RouteSpec", "normalise_message", "route_message"]


class Route(StrEnum):
    """Where a message goes. Values are stable: metrics and replies key on them."""

    UNSUPPORTED = "unsupported"
    DATA_REQUEST = "data_request"
    LEGAL = "legal"
    MEDICAL = "medical"
    HUMAN_HANDOFF = "human_handoff"
    ORDER_STATUS = "order_status"
    RETURNS = "returns"
    PAYMENT = "payment"
    SHIPPING = "shipping"
    DISCOUNT_REQUEST = "discount_request"
    GREETING = "greeting"
    CLARIFY = "clarify"
    OPEN_QUESTION = "open_question"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One row of the routing table.

    Attributes:
        route: the route.
        patterns: regexes searched in the normalised message (lower case, single spaces, straight quotes).
        answer: the :class:`~serving.concierge.config.FixedAnswers` field answering it; ``None`` for the model.
        conveys_offer: whether a reply on this route also states the decision's offer (never on compliance,
            complaints or problems: no selling to a shopper asking for legal help or a refund).
    """

    route: Route
    patterns: tuple[str, ...]
    answer: str | None
    conveys_offer: bool


ROUTING_TABLE: Final[tuple[RouteSpec, ...]] = (
    RouteSpec(Route.UNSUPPORTED, (
        r"\bignore (?:all |any |the |your )?(?:previous|prior|above|earlier) (?:instructions?|prompts?|rules)",
        r"\bsystem prompt\b", r"\bjailbreak", r"\bpretend (?:to be|you are)\b", r"\byou are now\b",
    ), "unsupported", False),
    RouteSpec(Route.DATA_REQUEST, (
        r"\b(?:delete|erase|remove|wipe) (?:all )?(?:of )?my (?:personal )?(?:data|information|info|details)\b",
        r"\b(?:delete|erase) my account\b", r"\bgdpr\b", r"\bright to be forgotten\b", r"\bpersonal data\b",
        r"\bdata (?:protection|privacy)\b", r"\bwhat (?:data|information) do you (?:have|hold|store|keep)\b",
    ), "data_request", False),
    RouteSpec(Route.LEGAL, (
        r"\blegal advice\b", r"\blawyers?\b", r"\battorney\b", r"\bsue\b", r"\blawsuit\b", r"\blegally\b",
        r"\bis (?:it|this|that) (?:even )?legal\b", r"\bcourt\b", r"\bsmall claims\b",
    ), "legal", False),
    RouteSpec(Route.MEDICAL, (
        r"\bmedical\b", r"\bdoctor\b", r"\bdiagnos", r"\bsymptoms?\b", r"\bmedicat", r"\bprescription\b",
        r"\bpregnan", r"\ballerg", r"\bside effects?\b", r"\bdosage\b", r"\beczema\b", r"\bdisease\b",
        r"\billness\b", r"\bhealth condition\b",
    ), "medical", False),
    RouteSpec(Route.HUMAN_HANDOFF, (
        r"\b(?:talk|speak|chat) (?:to|with) (?:a |an |some |your )?(?:real )?(?:human|person|agent|someone|"
        r"somebody|representative|manager|operator|colleague)\b",
        r"^(?:a )?(?:human|agent|operator|real person)\W*$", r"\blive agent\b", r"\bcall me\b",
        r"\b(?:make|file|lodge) a complaint\b", r"\bcancel (?:my |the |this )?(?:order|purchase|subscription)\b",
    ), "handoff", False),
    RouteSpec(Route.ORDER_STATUS, (
        r"\bwhere(?:'s| is) my (?:order|parcel|package|delivery|stuff|shipment)\b", r"\border status\b",
        r"\bstatus of (?:my|the) order\b", r"\btrack(?:ing)?\b.*\b(?:order|parcel|package|shipment|number)\b",
        r"\b(?:hasn't|has not|haven't|have not|didn't|did not|still not|never) (?:been )?(?:arrived?|received?|"
        r"come|shipped|dispatched)\b",
        r"\bmy order\b", r"\border (?:number|no\b|#)", r"\bwhen will my\b", r"\bstill waiting\b",
        r"\bhas (?:my|it) (?:order )?(?:been )?(?:shipped|dispatched|sent)\b",
    ), "order_status", False),
    RouteSpec(Route.RETURNS, (
        r"\breturn(?:s|ing|ed)?\b", r"\brefund(?:s|ed)?\b", r"\bsend (?:it|this|them) back\b", r"\bexchange\b",
        r"\b(?:broken|damaged|faulty|defective|cracked)\b", r"\bmoney back\b",
        r"\b(?:received|got|sent me) the wrong\b",
    ), "returns", False),
    RouteSpec(Route.PAYMENT, (
        r"\binstal?ments?\b", r"\bpay (?:by|with|in|later|monthly)\b", r"\bpayment (?:options?|methods?|plans?)\b",
        r"\bpaypal\b", r"\bklarna\b", r"\bcredit card\b", r"\bapple pay\b", r"\bgoogle pay\b",
    ), "payment", True),
    RouteSpec(Route.SHIPPING, (
        r"\bdeliver(?:y|ies|ed)?\b", r"\bshipping\b", r"\bships? (?:to|abroad|internationally|overseas)\b",
        r"\bdispatch", r"\bcourier\b", r"\bpostage\b", r"\bhow long (?:does|will) (?:it|delivery|shipping) take\b",
        r"\bexpress\b",
    ), "shipping", True),
    RouteSpec(Route.DISCOUNT_REQUEST, (
        r"\bdiscount(?:s|ed)?\b", r"\bcoupons?\b", r"\bvouchers?\b", r"\bpromo(?:tion)?s?\b",
        r"\b(?:promo|discount|voucher|coupon) codes?\b", r"\bsales?\b", r"\bdeals?\b", r"\b\d+ ?% off\b",
        r"\bmoney off\b", r"\bbetter price\b", r"\bprice match", r"\bblack friday\b", r"\bcyber monday\b",
    ), "discount_none", True),
    RouteSpec(Route.GREETING, (
        r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|thanks|thank you|thx|cheers|ok|okay|great|"
        r"perfect|cool|nice|lovely|bye|goodbye)\b[^?]{0,30}$",
    ), "greeting", True),
    RouteSpec(Route.CLARIFY, (r"^[^a-z]*$",), "clarify", False),
)  # fmt: skip
"""The ordered routing table: the first row with a matching pattern wins. Compliance rows come first."""

_COMPILED: Final = tuple((spec, tuple(re.compile(p) for p in spec.patterns)) for spec in ROUTING_TABLE)
_BY_ROUTE: Final = {spec.route: spec for spec in ROUTING_TABLE}
_OPEN: Final = RouteSpec(Route.OPEN_QUESTION, (), None, True)
_INTENT_ROUTES: Final = {
    "order_status": Route.ORDER_STATUS,
    "return_request": Route.RETURNS,
    "discount_query": Route.DISCOUNT_REQUEST,
}
_QUOTES: Final = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"'})


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a message goes and why.

    Attributes:
        spec: the routing-table row (carries the fixed answer's name and whether the offer is conveyed).
        reason: ``rule:<pattern>``, ``intent:<label>``, ``sentiment``, ``low_confidence`` or ``default``.
    """

    spec: RouteSpec
    reason: str

    @property
    def route(self) -> Route:
        """The route."""
        return self.spec.route

    @property
    def uses_lm(self) -> bool:
        """Whether the language model renders the reply (only open questions)."""
        return self.spec.answer is None


def normalise_message(text: str) -> str:
    """Lower case, straight quotes, single spaces: what the routing patterns read.

    >>> normalise_message("  Where’s   my ORDER? ")
    "where's my order?"
    """
    return " ".join(text.translate(_QUOTES).lower().split())


def route_message(
    text: str,
    config: ConciergeConfig,
    intent: IntentPrediction | None = None,
    has_constraints: bool = False,
) -> RouteDecision:
    """Route one message: the routing table first, then (with an intent head) sentiment and intent, else open.

    Order: the first :data:`ROUTING_TABLE` row with a matching pattern; then, if ``intent`` is given, sentiment
    at or below ``config.handoff_below_sentiment`` hands over, a confident (>= ``config.intent_route_confidence``)
    order-status/return/discount intent takes that rule route, and a top probability below
    ``config.clarify_below_confidence`` asks a clarification question unless the message carries retrieval
    constraints; everything else is an open question for the language model.

    Args:
        text: the shopper's message.
        config: thresholds.
        intent: the intent head's reading of the message, if available.
        has_constraints: whether the message names a category or price (a search, never "unclear").

    Returns:
        The decision; deterministic in its inputs.

    >>> route_message("Where is my parcel?", ConciergeConfig()).route
    <Route.ORDER_STATUS: 'order_status'>
    >>> route_message("Which lamp suits a reading corner?", ConciergeConfig()).route
    <Route.OPEN_QUESTION: 'open_question'>
    """
    normalised = normalise_message(text)
    for spec, patterns in _COMPILED:
        for pattern in patterns:
            if pattern.search(normalised):
                return RouteDecision(spec, f"rule:{pattern.pattern}")
    if intent is not None:
        threshold = config.handoff_below_sentiment
        if threshold is not None and intent.sentiment <= threshold:
            return RouteDecision(_BY_ROUTE[Route.HUMAN_HANDOFF], "sentiment")
        routed = _INTENT_ROUTES.get(intent.intent)
        if routed is not None and intent.confidence >= config.intent_route_confidence:
            return RouteDecision(_BY_ROUTE[routed], f"intent:{intent.intent}")
        if intent.confidence < config.clarify_below_confidence and not has_constraints:
            return RouteDecision(_BY_ROUTE[Route.CLARIFY], "low_confidence")
    return RouteDecision(_OPEN, "default")
