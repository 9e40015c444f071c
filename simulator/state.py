"""The mutable state of one shopping session, shared by the session machine, reactions and the oracle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from simulator.activity import CartLine

__all__ = ["LeaveReason", "NextVisit", "Phase", "SessionKind", "SessionState"]

Phase: TypeAlias = Literal["browse", "checkout", "ended"]
SessionKind: TypeAlias = Literal["visit", "return_to_buy"]
LeaveReason: TypeAlias = Literal["closed", "timeout", "logout"]


@dataclass(frozen=True, slots=True)
class NextVisit:
    """When the shopper comes back after a session, and why."""

    t: float
    kind: SessionKind
    intent: float | None = None


@dataclass(slots=True)
class SessionState:
    """Everything the model knows about a session at one moment, latent parts included.

    The oracle reads it (it is omniscient about latent values such as ``intent`` and ``steps_left``, but takes
    expectations over the shopper's remaining random draws, e.g. ``u_buy``).

    Attributes:
        session_id: the wire session id.
        kind: ``visit`` (organic) or ``return_to_buy`` (a later session completing an accepted offer).
        started_at: sim time of the first event.
        t: sim time of the latest emitted activity or reaction.
        intent: 0..1, this session's purchase intent (raised by accepted offers).
        u_buy: the latent uniform draw the completion probability is compared with at checkout.
        u_floor: what failed checkouts revealed: ``u_buy >= u_floor``.
        steps_left: browse steps before the shopper resolves (checkout with a cart, else leave).
        phase: ``browse``, ``checkout`` or ``ended``.
        leaving: the shopper is on the way out (after exit intent, before session end).
        leave_at: sim time of the session end when leaving.
        leave_reason: reason on that session end.
        cart: product id to line.
        page_type, category, product_id: where the shopper is.
        discount_pct: accepted discount (0 when none).
        offer_decision_id: the last accepted decision that purchases are attributed to.
        offer_accepted: a commercial offer (upsell, cross-sell, discount, concierge) was accepted.
        engaged: the shopper accepted the concierge.
        nudged: the shopper accepted a checkout nudge.
        asked_question: the shopper sent a chat message.
        discount_seeker: the shopper asked the chat about discounts.
        decisions: ids of the interventions shown in this session, in order.
        purchased: a purchase happened.
        order_value, discount_total: the purchase's net value and discount.
    """

    session_id: str
    kind: SessionKind
    started_at: float
    t: float
    intent: float
    u_buy: float
    steps_left: int
    u_floor: float = 0.0
    phase: Phase = "browse"
    leaving: bool = False
    leave_at: float = 0.0
    leave_reason: LeaveReason = "closed"
    cart: dict[str, CartLine] = field(default_factory=dict)
    page_type: str = "home"
    category: str | None = None
    product_id: str | None = None
    discount_pct: float = 0.0
    offer_decision_id: str | None = None
    offer_accepted: bool = False
    engaged: bool = False
    nudged: bool = False
    asked_question: bool = False
    discount_seeker: bool = False
    decisions: list[str] = field(default_factory=list)
    purchased: bool = False
    order_value: float = 0.0
    discount_total: float = 0.0

    @property
    def cart_gross(self) -> float:
        """Cart value before discount."""
        return sum(line.gross for line in self.cart.values())

    @property
    def cart_items(self) -> int:
        """Number of units in the cart."""
        return sum(line.quantity for line in self.cart.values())

    @property
    def cart_categories(self) -> tuple[str, ...]:
        """Distinct categories in the cart, in insertion order."""
        return tuple(dict.fromkeys(line.category for line in self.cart.values()))

    @property
    def ended(self) -> bool:
        """Whether the session is over."""
        return self.phase == "ended"

    def snapshot(self) -> SessionState:
        """An independent copy (cart and decision list copied) for what-if evaluation."""
        clone = object.__new__(SessionState)
        for name in _SLOTS:
            object.__setattr__(clone, name, getattr(self, name))
        clone.cart = dict(self.cart)
        clone.decisions = list(self.decisions)
        return clone


_SLOTS: tuple[str, ...] = SessionState.__slots__
