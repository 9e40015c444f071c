"""Bad-input injection: broken records, each labelled with the dead-letter reason ingest must give.

Every corruption starts from a fresh valid event (own event id) and breaks exactly one rule, chosen so the
decoder's precedence (oversize > malformed JSON > ... > field errors > identity) yields the intended reason.
``clock_skew_future`` records decode fine: ingest rejects them by comparing ``event_time`` (one day ahead)
with its clock.
"""

from __future__ import annotations

import random
from typing import Any, Final

import orjson

from simulator.records import DEAD_LETTER_REASONS

__all__ = ["FUTURE_SKEW_S", "OVERSIZE_BYTES", "corrupt", "pick_reason"]

FUTURE_SKEW_S: Final = 86400.0
"""How far ahead a ``clock_skew_future`` record's event time is."""
OVERSIZE_BYTES: Final = 64 * 1024
"""Records longer than this are ``oversize`` (the ingest limit)."""

_UNKNOWN_TYPES: Final = ("teleport", "page_veiw", "add_to_wishlist", "PageView")
_REQUIRED: Final = ("session_id", "event_id", "event_time")


def pick_reason(rng: random.Random) -> str:
    """A dead-letter reason, uniformly (``clock_skew_future`` included; the caller builds that one)."""
    return rng.choice(DEAD_LETTER_REASONS)


def corrupt(payload: dict[str, Any], reason: str, rng: random.Random) -> bytes:
    """Break a valid event's JSON-ready dict so that ingest dead-letters it with ``reason``.

    Args:
        payload: the event as builtins (``event_type`` included); not modified.
        reason: one of :data:`~simulator.records.DEAD_LETTER_REASONS` except ``clock_skew_future``.
        rng: the fault stream.

    Returns:
        The record value.

    Raises:
        ValueError: unknown reason, or ``clock_skew_future`` (build it as a valid event with a shifted time).
    """
    obj = dict(payload)
    if reason == "malformed_json":
        raw = orjson.dumps(obj)
        style = rng.randrange(3)
        if style == 0:
            return raw[: rng.randint(1, len(raw) - 1)]  # a strict prefix of an object is never valid JSON
        if style == 1:
            return raw + b"}"
        return raw.replace(b'"', b"'", 2)
    if reason == "wrong_type":
        obj["session_id"] = rng.randint(1, 10**6)
    elif reason == "missing_field":
        del obj[rng.choice(_REQUIRED)]
    elif reason == "unknown_event_type":
        obj["event_type"] = rng.choice(_UNKNOWN_TYPES)
    elif reason == "oversize":
        obj["x_padding"] = "x" * (OVERSIZE_BYTES + rng.randint(1, 4096))
    elif reason == "missing_identity":
        obj["user_id"] = obj["anonymous_id"] = None
    elif reason == "invalid_value":
        _invalidate(obj)
    else:
        raise ValueError(f"cannot corrupt for reason {reason!r}")
    return orjson.dumps(obj)


def _invalidate(obj: dict[str, Any]) -> None:
    """Break a value constraint (not a type): quantity 0, negative money, score 9, bad page type, empty id."""
    if "quantity" in obj:
        obj["quantity"] = 0
    elif isinstance(obj.get("price"), float | int):
        obj["price"] = -abs(obj["price"]) - 1.0
    elif "score" in obj:
        obj["score"] = 9
    elif obj.get("event_type") == "page_view":
        obj["page_type"] = "spaceship"
    elif isinstance(obj.get("cart_value"), float | int):
        obj["cart_value"] = -1.0
    else:
        obj["session_id"] = ""
