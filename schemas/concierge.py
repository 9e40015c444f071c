"""Concierge messages as published on ``kairos.concierge.v1``: the text shown for a ``concierge_message`` decision.

A concierge decision gets its text in one or two messages keyed like the decision: at once, a rule or template
reply (``final=False`` when a language-model reply may follow); later, when the language model answered in time and
its text passed validation, the model's reply (``final=True``). The storefront shows the latest message per
``decision_id``. Every message is AI-generated content and says so (``disclosure``).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from msgspec import Meta, Struct

from schemas.fields import AwareDatetime, Id, Label, SchemaVersion, Text
from schemas.invariants import missing_identity, naive_datetime

__all__ = ["ConciergeMessage", "ConciergeSource", "concierge_message_id"]

ConciergeSource: TypeAlias = Literal["rules", "template", "lm"]
DiscountPct: TypeAlias = Annotated[float, Meta(ge=0.0, le=100.0)]


def concierge_message_id(decision_id: str, source: str) -> str:
    """The message's id: one per decision and source, so a replay or a retry names it the same.

    >>> concierge_message_id("d-1", "lm")
    'd-1:lm'
    """
    return f"{decision_id}:{source}"


class ConciergeMessage(Struct, frozen=True, kw_only=True):
    """One concierge text for one decision."""

    message_id: Id
    decision_id: Id
    event_time: AwareDatetime
    schema_version: SchemaVersion
    session_id: Id
    text: Text
    source: ConciergeSource
    final: bool
    disclosure: bool = True
    user_id: Id | None = None
    anonymous_id: Id | None = None
    product_ids: list[Id] = []
    discount_pct: DiscountPct | None = None
    route: Label = ""

    def __post_init__(self) -> None:
        """Same identity and time rules as events.

        Raises:
            ContractViolationError: no identity, or a naive ``event_time``.
        """
        if self.user_id is None and self.anonymous_id is None:
            raise missing_identity()
        if self.event_time.tzinfo is None:
            raise naive_datetime("$.event_time")

    @property
    def partition_key(self) -> bytes:
        """The record key: ``user_id``, else ``anonymous_id`` (the decision's key)."""
        return (self.user_id or self.anonymous_id or "").encode()
