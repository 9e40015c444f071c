"""Ingest routing: decode, validate, check the clock and the key, de-duplicate. Pure: time is a parameter.

De-duplication is per partition, so it holds only if every copy of an event lands on one partition: the publisher
contract (docs/topics.md) keys each event by its own ``partition_key`` (``user_id``, else ``anonymous_id``). A record
keyed otherwise (another id, no key, a key a publisher re-computed after login) is routed ``REKEY``: the stage
publishes it again under its own key, so it reaches the partition where its other copies are de-duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final, Protocol

from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import Event
from streams.dedup import DedupWindow

__all__ = ["UNCHECKED", "ClockRules", "EventDecoding", "Ingestor", "Unchecked", "Verdict"]


class EventDecoding(Protocol):
    """What ingest needs from a decoder: bytes in, a validated event out, or a PoisonMessageError."""

    def decode(self, raw: bytes) -> Event: ...


@dataclass(frozen=True, slots=True)
class ClockRules:
    """How far an event's time may lie from the processing clock before it is dead-lettered."""

    max_future_skew_s: float = 300.0
    max_past_skew_s: float = 7 * 24 * 3600.0


class Unchecked(Enum):
    """The type of :data:`UNCHECKED`: no key to check (``None`` is a key: a record without one)."""

    UNCHECKED = "unchecked"


UNCHECKED: Final = Unchecked.UNCHECKED


class Verdict(IntEnum):
    """Where a record goes."""

    VALID = 0
    DUPLICATE = 1
    DEAD = 2
    REKEY = 3
    """Valid, but keyed otherwise than by its ``partition_key``: publish it again under that key (not de-duplicated
    here, where its other copies may never arrive)."""


class Ingestor:
    """Routes one raw record at a time; the caller owns one :class:`DedupWindow` per partition."""

    __slots__ = ("_decode", "_max_future", "_max_past")

    def __init__(self, decoder: EventDecoding, rules: ClockRules) -> None:
        self._decode = decoder.decode
        self._max_future = rules.max_future_skew_s
        self._max_past = rules.max_past_skew_s

    def route(
        self, raw: bytes | None, dedup: DedupWindow, now_s: float, *, key: bytes | Unchecked | None = UNCHECKED
    ) -> tuple[Verdict, Event | PoisonMessageError]:
        """Decide the fate of ``raw`` at processing time ``now_s`` (seconds since the epoch).

        Args:
            raw: the record value.
            dedup: the de-duplication window of the record's partition.
            now_s: the processing clock.
            key: the record key; when given, a valid event keyed otherwise than by its ``partition_key`` is
                ``REKEY`` (checked after validation and the clock, before de-duplication).

        Returns:
            ``(VALID, event)``, ``(DUPLICATE, event)``, ``(REKEY, event)`` or ``(DEAD, error)``; ``error.reason``
            names why.
        """
        try:
            event = self._decode(raw if raw is not None else b"")
        except PoisonMessageError as exc:
            return Verdict.DEAD, exc
        t = event.event_time.timestamp()
        if t > now_s + self._max_future:
            return Verdict.DEAD, PoisonMessageError(
                DeadLetterReason.CLOCK_SKEW_FUTURE,
                f"event_time is {t - now_s:.0f}s ahead of the processing clock (limit {self._max_future:.0f}s)",
                "$.event_time",
            )
        if t < now_s - self._max_past:
            return Verdict.DEAD, PoisonMessageError(
                DeadLetterReason.CLOCK_SKEW_PAST,
                f"event_time is {now_s - t:.0f}s behind the processing clock (limit {self._max_past:.0f}s)",
                "$.event_time",
            )
        if not isinstance(key, Unchecked) and key != event.partition_key.encode():
            return Verdict.REKEY, event
        if dedup.add(event.event_id, t):
            return Verdict.VALID, event
        return Verdict.DUPLICATE, event

    def remember(
        self, raw: bytes | None, dedup: DedupWindow, now_s: float, *, key: bytes | Unchecked | None = UNCHECKED
    ) -> None:
        """Replay ``raw`` into ``dedup`` without emitting anything (state rebuild after a restart).

        The same checks as :meth:`route` run first (pass the same ``key``): a clock-skewed or re-keyed event must
        not enter the window or move its watermark, exactly as it did not when it was first routed.
        """
        self.route(raw, dedup, now_s, key=key)
