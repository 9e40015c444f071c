"""Event-time arithmetic and sliding event-time windows for the streaming features.

Times are integer microseconds since the Unix epoch (UTC), so window boundaries and durations are exact and
replays give bit-identical results; :func:`to_micros` converts an event's tz-aware ``event_time`` once.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "MICROS_PER_DAY",
    "MICROS_PER_SECOND",
    "SlidingWindow",
    "seconds",
    "to_micros",
]

MICROS_PER_SECOND: Final = 1_000_000
MICROS_PER_DAY: Final = 86_400 * MICROS_PER_SECOND

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO: Final = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a tz-aware datetime.

    Args:
        moment: a timezone-aware datetime (events are validated to carry one).

    Returns:
        The exact integer number of microseconds since 1970-01-01T00:00:00Z.

    >>> from datetime import timezone
    >>> to_micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=timezone.utc))
    1000005
    >>> to_micros(datetime(1970, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    0
    """
    return (moment - _EPOCH) // _ONE_MICRO


def seconds(micros: int) -> float:
    """A duration in microseconds as float seconds.

    >>> seconds(1_500_000)
    1.5
    """
    return micros / MICROS_PER_SECOND


class SlidingWindow:
    """Weighted event times, queried as the total weight in the half-open window ``(now - span, now]``.

    Inserts may arrive out of order (they are kept sorted); :meth:`prune` drops times that no query can reach
    any more, which is what keeps the memory bounded by time. The owner decides the pruning horizon: to answer
    for any ``now >= watermark - lateness`` it prunes at ``watermark - lateness - span``.

    Args:
        span: window length in microseconds.

    >>> w = SlidingWindow(span=10)
    >>> for t in (5, 1, 12, 9):
    ...     w.add(t)
    >>> w.total(now=12), w.total(now=10), w.total(now=19), w.total(now=22), w.total(now=0)
    (3, 3, 1, 0, 0)
    >>> w.add(12, weight=4); w.total(now=12)
    7
    >>> w.prune(before=5); len(w)
    3
    """

    __slots__ = ("_times", "_weights", "span", "unit")

    def __init__(self, span: int) -> None:
        if span <= 0:
            raise ValueError(f"span must be > 0, got {span}")
        self.span = span
        self.unit = True  # every weight so far is 1: totals are index arithmetic
        self._times: list[int] = []
        self._weights: list[int] = []

    def __len__(self) -> int:
        return len(self._times)

    def add(self, t: int, weight: int = 1) -> None:
        """Record ``weight`` at event time ``t`` (any order)."""
        times = self._times
        if not times or t >= times[-1]:
            times.append(t)
            self._weights.append(weight)
        else:
            i = bisect_right(times, t)
            times.insert(i, t)
            self._weights.insert(i, weight)
        if weight != 1:
            self.unit = False

    def total(self, now: int) -> int:
        """Total weight of the times ``t`` with ``now - span < t <= now``."""
        times = self._times
        hi = bisect_right(times, now)
        lo = bisect_right(times, now - self.span, 0, hi)
        if self.unit:
            return hi - lo
        return sum(self._weights[lo:hi])

    def prune(self, before: int) -> None:
        """Forget the times ``t <= before``."""
        times = self._times
        if times and times[0] <= before:
            k = bisect_right(times, before)
            del times[:k]
            del self._weights[:k]
