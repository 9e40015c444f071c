"""Bounded, windowed de-duplication by event id, one instance per partition."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["DedupWindow"]


class DedupWindow:
    """The event ids seen recently on one partition, least recently seen first.

    Holds at most ``capacity`` ids; an id seen again moves to the back. Ids whose latest copy fell more than
    ``window_s`` of event time behind the partition's watermark (the largest event time seen) are forgotten.
    The guarantee: a record is caught as a duplicate when an earlier copy is among the previous ``capacity``
    records of its partition and no more than ``window_s`` behind the watermark. Replaying just those records
    into an empty window rebuilds a state that keeps the guarantee, which is how a restart recovers it.

    >>> dedup = DedupWindow(capacity=2, window_s=60.0)
    >>> dedup.add("a", 0.0), dedup.add("a", 1.0), dedup.add("b", 2.0), dedup.add("c", 3.0), dedup.add("a", 4.0)
    (True, False, True, True, True)
    >>> dedup.add("z", 100.0), "c" in dedup
    (True, False)
    """

    __slots__ = ("_seen", "capacity", "watermark", "window_s")

    def __init__(self, capacity: int, window_s: float) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.window_s = window_s
        self.watermark = float("-inf")
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._seen

    def add(self, event_id: str, event_time_s: float) -> bool:
        """Record a copy of ``event_id``; True when it is new, False when it is a duplicate."""
        seen = self._seen
        new = event_id not in seen
        if new:
            seen[event_id] = event_time_s
            if len(seen) > self.capacity:
                seen.popitem(last=False)
        else:
            seen.move_to_end(event_id)
            seen[event_id] = max(seen[event_id], event_time_s)
        if event_time_s <= self.watermark:
            return new
        # The horizon only moves when the watermark does.
        self.watermark = event_time_s
        horizon = event_time_s - self.window_s
        while seen and next(iter(seen.values())) < horizon:
            seen.popitem(last=False)
        return new
