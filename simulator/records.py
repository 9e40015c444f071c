"""SimRecord: one record the simulation sends, labelled with what the engine should do with it."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, NamedTuple, TypeAlias

__all__ = ["DEAD_LETTER_REASONS", "RecordKind", "SimRecord"]

RecordKind: TypeAlias = Literal["valid", "malformed", "duplicate"]

DEAD_LETTER_REASONS: Final[tuple[str, ...]] = (
    "malformed_json",
    "wrong_type",
    "missing_field",
    "unknown_event_type",
    "oversize",
    "clock_skew_future",
    "missing_identity",
    "invalid_value",
)
"""The reasons injected records are labelled with (``schemas.errors.DeadLetterReason`` values)."""


class SimRecord(NamedTuple):
    """A Kafka record to produce, and the ground truth about it (immutable; a named tuple for speed).

    Attributes:
        key: the message key (``user_id`` or else ``anonymous_id``, UTF-8).
        value: the message value (JSON bytes; deliberately broken when ``kind == "malformed"``).
        kind: ``valid`` (must arrive downstream once), ``malformed`` (must be dead-lettered with
            ``expected_reason``) or ``duplicate`` (exact bytes of an earlier valid record; must be dropped).
        event_id: the event id inside the value, when it has one.
        expected_reason: the dead-letter reason for malformed records, else ``None``.
        event_time: the event time the value states (malformed: the time it was made, or the skewed time).
        sim_time: sim seconds at which the record is due to be sent.
        event_type: the event type it was made from.
        session_id: the session it belongs to.
    """

    key: bytes
    value: bytes
    kind: RecordKind
    event_id: str | None
    expected_reason: str | None
    event_time: datetime
    sim_time: float
    event_type: str | None = None
    session_id: str | None = None
