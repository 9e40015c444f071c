"""Orphan feedback: impressions, clicks and dismissals waiting for a decision that may still be on its way."""

from __future__ import annotations

from schemas.events import Event

__all__ = ["Orphans"]


class Orphans:
    """Feedback events by the decision id they name, each until its time plus a margin is behind the horizon.

    >>> from schemas.examples import example_events
    >>> orphans = Orphans(margin_us=5)
    >>> orphans.add("d-1", 100, example_events()["intervention_impression"])
    >>> orphans.expire(105), len(orphans)
    ([], 1)
    >>> [(decision_id, event.event_type) for decision_id, event in orphans.expire(106)], len(orphans)
    ([('d-1', 'intervention_impression')], 0)
    """

    __slots__ = ("_by_decision", "margin_us")

    def __init__(self, margin_us: int) -> None:
        self.margin_us = margin_us
        self._by_decision: dict[str, list[tuple[int, str, Event]]] = {}

    def __len__(self) -> int:
        return sum(len(items) for items in self._by_decision.values())

    def add(self, decision_id: str, time_us: int, event: Event) -> None:
        """Hold one feedback event for ``decision_id``."""
        self._by_decision.setdefault(decision_id, []).append((time_us, event.event_id, event))

    def take(self, decision_id: str) -> list[tuple[int, str, Event]]:
        """Remove and return the feedback held for ``decision_id`` as ``(time, event id, event)``."""
        return self._by_decision.pop(decision_id, [])

    def expire(self, horizon_us: int) -> list[tuple[str, Event]]:
        """Remove the feedback whose time plus the margin is behind ``horizon_us``.

        Returns:
            ``(decision id, event)`` pairs in event-time order (then event id).
        """
        expired: list[tuple[int, str, str, Event]] = []
        for decision_id in list(self._by_decision):
            items = self._by_decision[decision_id]
            keep = [item for item in items if item[0] + self.margin_us >= horizon_us]
            expired.extend((t, e, decision_id, event) for t, e, event in items if t + self.margin_us < horizon_us)
            if keep:
                self._by_decision[decision_id] = keep
            else:
                del self._by_decision[decision_id]
        expired.sort(key=lambda item: (item[0], item[1]))
        return [(decision_id, event) for _, _, decision_id, event in expired]
