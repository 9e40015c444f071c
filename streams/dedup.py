"""Bounded, windowed de-duplication by event id, one instance per partition."""

from __future__ import annotations

from collections import deque

__all__ = ["DedupWindow"]


class DedupWindow:
    """The event ids seen recently on one partition.

    Keeps at most ``capacity`` ids and forgets, oldest first, ids whose event time fell more than ``window_s``
    behind the partition's watermark (the largest event time seen). The guarantee: a copy of an event is caught
    when its first copy is among the previous ``capacity`` records of the partition and within ``window_s`` of
    event time. The state is a function of those records, so a restart rebuilds it by replaying them.

    >>> dedup = DedupWindow(capacity=2, window_s=60.0)
    >>> dedup.add("a", 0.0), dedup.add("a", 1.0), dedup.add("b", 2.0), dedup.add("c", 3.0), dedup.add("a", 4.0)
    (True, False, True, True, True)
    >>> dedup.add("z", 100.0), "c" in dedup
    (True, False)
    """

    __slots__ = ("_ids", "_order", "capacity", "watermark", "window_s")

    def __init__(self, capacity: int, window_s: float) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.window_s = window_s
        self.watermark = float("-inf")
        self._ids: set[str] = set()
        self._order: deque[tuple[str, float]] = deque()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str, event_time_s: float) -> bool:
        """Record ``event_id``; True when it is new, False when it is a duplicate."""
        ids = self._ids
        if event_id in ids:
            return False
        ids.add(event_id)
        order = self._order
        order.append((event_id, event_time_s))
        if event_time_s > self.watermark:
            self.watermark = event_time_s
        if len(order) > self.capacity:
            ids.discard(order.popleft()[0])
        horizon = self.watermark - self.window_s
        while order[0][1] < horizon:
            ids.discard(order.popleft()[0])
        return True
