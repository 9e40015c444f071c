"""The replay's clock: the event stream's time, never the wall's."""

from __future__ import annotations

__all__ = ["StreamClock"]


class StreamClock:
    """Seconds since the epoch as the replayed log says: the newest record timestamp seen so far.

    Every stage of a replay reads this instead of ``time.time``/``time.monotonic`` (checkpoint cadence,
    dead-letter stamps, the popular-products refresh), so two replays of a slice read the same times.

    >>> clock = StreamClock()
    >>> clock.advance(1_700_000_000_500); clock.advance(1_600_000_000_000); clock()
    1700000000.5
    """

    __slots__ = ("_now_s",)

    def __init__(self) -> None:
        self._now_s = 0.0

    def advance(self, timestamp_ms: int | None) -> None:
        """Move to ``timestamp_ms`` if it is newer (the clock never goes back)."""
        if timestamp_ms is not None and timestamp_ms / 1000.0 > self._now_s:
            self._now_s = timestamp_ms / 1000.0

    def __call__(self) -> float:
        """Now, in the replay."""
        return self._now_s
