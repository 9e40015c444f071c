"""Activity: one thing a simulated shopper did, in sim time, before :mod:`simulator.wire` makes it wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

__all__ = [
    "ACTION_TYPES",
    "ActionType",
    "Activity",
    "CartLine",
    "FieldValue",
    "Intervention",
    "as_float",
    "as_int",
]

ActionType: TypeAlias = Literal[
    "none", "upsell", "cross_sell", "discount", "checkout_nudge", "email_capture", "concierge_message"
]
"""The engine's intervention types (``schemas.decisions.InterventionType`` values)."""

ACTION_TYPES: Final[tuple[ActionType, ...]] = (
    "none",
    "upsell",
    "cross_sell",
    "discount",
    "checkout_nudge",
    "email_capture",
    "concierge_message",
)


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of a cart or order: ``discount`` is the money taken off this line (not a rate)."""

    product_id: str
    quantity: int
    unit_price: float
    category: str
    discount: float = 0.0

    @property
    def gross(self) -> float:
        """``quantity * unit_price`` before any discount."""
        return self.quantity * self.unit_price


FieldValue: TypeAlias = str | int | float | bool | tuple[CartLine, ...] | None


def as_float(value: FieldValue) -> float:
    """A numeric field as ``float``.

    Raises:
        TypeError: the value is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def as_int(value: FieldValue) -> int:
    """An integer field as ``int``.

    Raises:
        TypeError: the value is not an integer.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


@dataclass(slots=True)
class Activity:
    """An event in the model's own terms; ``kind`` is the wire ``event_type``.

    Attributes:
        kind: the event type, e.g. ``"product_view"``.
        t: sim seconds since the simulation start.
        session_id: the session it belongs to.
        user_id: the logged-in id, or ``None``.
        anonymous_id: the device cookie id, or ``None``.
        device: ``mobile``, ``desktop`` or ``tablet``.
        event_id: deterministic id (session id + per-session sequence number).
        fields: the type-specific payload, already named as on the wire.
    """

    kind: str
    t: float
    session_id: str
    user_id: str | None
    anonymous_id: str | None
    device: str
    event_id: str
    fields: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Intervention:
    """A decision as the shopper sees it: the action the engine chose, for one session.

    ``t`` is the decision's event time in sim seconds (the earliest moment it may be shown).
    """

    decision_id: str
    session_id: str
    action: ActionType
    t: float
    user_id: str | None = None
    anonymous_id: str | None = None
    product_id: str | None = None
    category: str | None = None
    discount_pct: float | None = None
    message: str | None = None
