"""A tally: the credited outcomes of one decision's component, folded by an aggregation, order-independent."""

from __future__ import annotations

from streams.attribution.config import Aggregation

__all__ = ["Tally"]


class Tally:
    """Credited outcomes of one component of one decision.

    Adding is idempotent per event id and the result does not depend on the order of additions: ``earliest``
    and ``max`` keep only the winner (ties broken by event time, then event id), ``sum`` and ``average`` keep
    every contribution by event id (at most ``cap``; later ones are dropped and counted in :attr:`dropped`)
    and add them in event-time order.

    >>> t = Tally(Aggregation.SUM, cap=8)
    >>> t.add("e2", 20, 0.5), t.add("e1", 10, 0.25), t.add("e2", 20, 0.5)
    (True, True, False)
    >>> t.total(), t.event_ids()
    (0.75, ['e1', 'e2'])
    >>> first = Tally(Aggregation.EARLIEST, cap=8)
    >>> first.add("late", 30, 1.0), first.add("early", 10, -1.0), first.total(), first.event_ids()
    (True, True, -1.0, ['early'])
    """

    __slots__ = ("_entries", "aggregation", "cap", "dropped")

    def __init__(self, aggregation: Aggregation, cap: int) -> None:
        self.aggregation = aggregation
        self.cap = cap
        self.dropped = 0
        self._entries: dict[str, tuple[int, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __getstate__(self) -> tuple[Aggregation, int, int, dict[str, tuple[int, float]]]:
        return (self.aggregation, self.cap, self.dropped, self._entries)

    def __setstate__(self, state: tuple[Aggregation, int, int, dict[str, tuple[int, float]]]) -> None:
        self.aggregation, self.cap, self.dropped, self._entries = state

    def add(self, event_id: str, time_us: int, credited: float) -> bool:
        """Fold in one credited outcome; True when the tally changed."""
        entries = self._entries
        if event_id in entries:
            return False
        if self.aggregation in (Aggregation.EARLIEST, Aggregation.MAX):
            if entries:
                ((best_id, (best_time, best_value)),) = entries.items()
                if not self._beats((time_us, event_id, credited), (best_time, best_id, best_value)):
                    return False
                entries.clear()
            entries[event_id] = (time_us, credited)
            return True
        if len(entries) >= self.cap:
            self.dropped += 1
            return False
        entries[event_id] = (time_us, credited)
        return True

    def _beats(self, new: tuple[int, str, float], best: tuple[int, str, float]) -> bool:
        earlier = new[:2] < best[:2]
        if self.aggregation is Aggregation.EARLIEST:
            return earlier
        return new[2] > best[2] or (new[2] == best[2] and earlier)

    def _ordered(self) -> list[tuple[int, str, float]]:
        return sorted((time_us, event_id, value) for event_id, (time_us, value) in self._entries.items())

    def total(self) -> float | None:
        """The aggregated value, ``None`` when nothing was credited."""
        if not self._entries:
            return None
        values = [value for _, _, value in self._ordered()]
        if self.aggregation is Aggregation.AVERAGE:
            return sum(values) / len(values)
        return sum(values)  # sum, or the single winner of earliest / max

    def event_ids(self) -> list[str]:
        """The contributing event ids, in event-time order."""
        return [event_id for _, event_id, _ in self._ordered()]
