"""Shopper events as they arrive on ``kairos.events.raw.v1``: one frozen msgspec struct per ``event_type``.

Every event carries the same base fields (:class:`EventBase`); the ``event_type`` tag selects the struct.
Building one in Python runs the same cross-field rules the decoder runs (an identity is present,
``event_time`` is timezone-aware); the per-field constraints (``Meta``) are checked by the decoder.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated, Final, Literal, TypeAlias, get_args

from msgspec import Meta, Struct

from schemas.fields import (
    CURRENT_SCHEMA_VERSION,
    AwareDatetime,
    Count,
    Currency,
    Id,
    Label,
    Money,
    Quantity,
    SchemaVersion,
    Text,
    Url,
)
from schemas.invariants import missing_identity, naive_datetime

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "AddToCart",
    "ChatMessage",
    "CheckoutStart",
    "ConsentUpdate",
    "EmailSignup",
    "Event",
    "EventBase",
    "ExitIntent",
    "InterventionClick",
    "InterventionDismiss",
    "InterventionImpression",
    "LineItem",
    "PageType",
    "PageView",
    "ProductView",
    "Purchase",
    "RemoveFromCart",
    "Search",
    "SessionEnd",
    "SurveyResponse",
    "email_hash",
]

PageType: TypeAlias = Literal["home", "category", "product", "cart", "checkout", "search", "account", "other"]
EmailHash: TypeAlias = Annotated[
    str,
    Meta(
        pattern="^[0-9a-f]{32,128}$",
        description="Lowercase hex digest of the normalised address (schemas.email_hash), never the address.",
    ),
]
SurveyScore: TypeAlias = Annotated[int, Meta(ge=1, le=5)]


class EventBase(Struct, frozen=True, kw_only=True, tag_field="event_type"):
    """Fields every event carries. ``event_type`` is the tag on the wire, exposed as a read-only property."""

    event_id: Id
    event_time: AwareDatetime
    schema_version: SchemaVersion
    session_id: Id
    user_id: Id | None = None
    anonymous_id: Id | None = None
    device: Label | None = None

    def __post_init__(self) -> None:
        """Enforce the cross-field rules, at construction and at decode alike.

        Raises:
            ContractViolationError: no identity (``MISSING_IDENTITY``) or a naive ``event_time``
                (``INVALID_VALUE``).
        """
        if self.user_id is None and self.anonymous_id is None:
            raise missing_identity()
        if self.event_time.tzinfo is None:
            raise naive_datetime("$.event_time")

    @property
    def event_type(self) -> str:
        """The wire tag of this event's struct, e.g. ``"page_view"``."""
        return str(self.__struct_config__.tag)

    @property
    def partition_key(self) -> str:
        """The Kafka key: ``user_id`` when known, else ``anonymous_id`` (one of them always exists)."""
        if self.user_id is not None:
            return self.user_id
        if self.anonymous_id is not None:
            return self.anonymous_id
        raise missing_identity()


class LineItem(Struct, frozen=True, kw_only=True):
    """One purchased product line."""

    product_id: Id
    quantity: Quantity
    unit_price: Money
    category: Label | None = None
    discount: Money = 0.0


class PageView(EventBase, frozen=True, kw_only=True, tag="page_view"):
    """A page was rendered."""

    page_type: PageType
    url: Url | None = None
    category: Label | None = None


class ProductView(EventBase, frozen=True, kw_only=True, tag="product_view"):
    """A product detail page was viewed."""

    product_id: Id
    category: Label | None = None
    price: Money | None = None


class Search(EventBase, frozen=True, kw_only=True, tag="search"):
    """A site search was run."""

    query: Text
    results_count: Count | None = None


class AddToCart(EventBase, frozen=True, kw_only=True, tag="add_to_cart"):
    """Units of a product were added to the cart."""

    product_id: Id
    quantity: Quantity
    unit_price: Money
    category: Label | None = None


class RemoveFromCart(EventBase, frozen=True, kw_only=True, tag="remove_from_cart"):
    """Units of a product were removed from the cart."""

    product_id: Id
    quantity: Quantity


class CheckoutStart(EventBase, frozen=True, kw_only=True, tag="checkout_start"):
    """The shopper entered checkout."""

    cart_value: Money
    item_count: Count


class Purchase(EventBase, frozen=True, kw_only=True, tag="purchase"):
    """An order was placed. ``decision_id`` is the attribution token carried through the UTM parameters."""

    order_id: Id
    items: list[LineItem]
    order_value: Money
    currency: Currency = "EUR"
    discount_total: Money = 0.0
    decision_id: Id | None = None


class ChatMessage(EventBase, frozen=True, kw_only=True, tag="chat_message"):
    """The shopper wrote to the concierge chat."""

    text: Text
    message_id: Id | None = None


class EmailSignup(EventBase, frozen=True, kw_only=True, tag="email_signup"):
    """The shopper left an e-mail address; only its pseudonymised hash travels."""

    email_hash: EmailHash
    consent_marketing: bool


class ConsentUpdate(EventBase, frozen=True, kw_only=True, tag="consent_update"):
    """The shopper's consent choices from the shop's consent banner or settings, per purpose.

    A purpose left ``None`` is unchanged; ``True`` grants it, ``False`` revokes it (effective from the next
    decision on). ``personalisation``: behaviour-based recommendations, offers and concierge messages;
    ``marketing``: marketing e-mail.
    """

    personalisation: bool | None = None
    marketing: bool | None = None


class SurveyResponse(EventBase, frozen=True, kw_only=True, tag="survey_response"):
    """A satisfaction survey was answered (score 1-5)."""

    survey_id: Id
    score: SurveyScore
    comment: Text | None = None
    decision_id: Id | None = None


class SessionEnd(EventBase, frozen=True, kw_only=True, tag="session_end"):
    """The session ended."""

    reason: Literal["closed", "timeout", "logout"] = "closed"


class ExitIntent(EventBase, frozen=True, kw_only=True, tag="exit_intent"):
    """The pointer left the viewport towards the browser chrome (about to leave)."""

    page_type: Label | None = None


class _InterventionEvent(EventBase, frozen=True, kw_only=True):
    """Fields shared by the three intervention feedback events."""

    decision_id: Id
    intervention_type: Label | None = None
    product_id: Id | None = None


class InterventionImpression(_InterventionEvent, frozen=True, kw_only=True, tag="intervention_impression"):
    """An intervention chosen by a decision was shown."""


class InterventionClick(_InterventionEvent, frozen=True, kw_only=True, tag="intervention_click"):
    """A shown intervention was clicked."""


class InterventionDismiss(_InterventionEvent, frozen=True, kw_only=True, tag="intervention_dismiss"):
    """A shown intervention was dismissed."""


Event: TypeAlias = (
    PageView
    | ProductView
    | Search
    | AddToCart
    | RemoveFromCart
    | CheckoutStart
    | Purchase
    | ChatMessage
    | EmailSignup
    | ConsentUpdate
    | SurveyResponse
    | SessionEnd
    | ExitIntent
    | InterventionImpression
    | InterventionClick
    | InterventionDismiss
)
"""Any event; decode with :class:`schemas.EventDecoder`."""

EVENT_CLASSES: Final[Mapping[str, type[Event]]] = {str(cls.__struct_config__.tag): cls for cls in get_args(Event)}
"""``event_type`` → struct."""

EVENT_TYPES: Final[frozenset[str]] = frozenset(EVENT_CLASSES)
"""Every ``event_type`` this build reads."""


def email_hash(address: str, *, key: bytes) -> str:
    """Pseudonymise an address for :class:`EmailSignup`: HMAC-SHA256 of the trimmed, lower-cased address.

    Args:
        address: the raw address; it never leaves this function.
        key: the secret pepper (rotate it and the hashes change).

    Returns:
        64 lowercase hex digits.

    >>> email_hash(" Ada@Example.org ", key=b"k") == email_hash("ada@example.org", key=b"k")
    True
    >>> len(email_hash("ada@example.org", key=b"k"))
    64
    """
    normalised = address.strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()
