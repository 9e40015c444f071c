"""Session starts: the first event seen of each (user, session), whose return-visit outcome feeds retention."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["SessionStarts"]

SessionKey = tuple[str, str]


@dataclass(slots=True)
class _First:
    time_us: int
    event_id: str
    resolved: bool = False


class SessionStarts:
    """The earliest event of every (user key, session) seen, until its visit is resolved and then forgotten.

    A session's start can still move earlier while its visit waits (an out-of-order event within the lateness);
    once resolved it is fixed. Resolved starts are forgotten ``session_memory_s`` after they happened: a later
    event of such a long session would count as a new visit.

    >>> starts = SessionStarts()
    >>> starts.see(("u", "s"), 20, "e2"), starts.see(("u", "s"), 10, "e1"), starts.see(("u", "s"), 30, "e3")
    ((True, None), (True, 'e2'), (False, None))
    >>> starts.resolve(("u", "s")); starts.see(("u", "s"), 5, "e0")
    (False, None)
    """

    __slots__ = ("_firsts", "_resolved")

    def __init__(self) -> None:
        self._firsts: dict[SessionKey, _First] = {}
        self._resolved: deque[tuple[int, SessionKey]] = deque()

    def __len__(self) -> int:
        return len(self._firsts)

    def see(self, key: SessionKey, time_us: int, event_id: str) -> tuple[bool, str | None]:
        """Note one event of a session.

        Returns:
            ``(starts, superseded)``: whether the event is now the session's start (its visit must be buffered),
            and the event id of the start it replaced (whose buffered visit must be dropped), if any.
        """
        first = self._firsts.get(key)
        if first is None:
            self._firsts[key] = _First(time_us, event_id)
            return True, None
        if first.resolved or (time_us, event_id) >= (first.time_us, first.event_id):
            return False, None
        superseded = first.event_id
        first.time_us, first.event_id = time_us, event_id
        return True, superseded

    def resolve(self, key: SessionKey) -> None:
        """Fix a session's start: its visit was credited."""
        first = self._firsts[key]
        first.resolved = True
        self._resolved.append((first.time_us, key))

    def forget(self, before_us: int) -> None:
        """Forget resolved starts that happened before ``before_us``."""
        resolved = self._resolved
        while resolved and resolved[0][0] < before_us:
            _, key = resolved.popleft()
            self._firsts.pop(key, None)
