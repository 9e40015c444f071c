"""DedupWindow: bounded by capacity, windowed by event time, rebuildable by replay."""

from __future__ import annotations

import random

import pytest

from streams.dedup import DedupWindow


def test_duplicate_is_caught_within_capacity_and_window() -> None:
    dedup = DedupWindow(capacity=10, window_s=100.0)
    assert dedup.add("a", 0.0)
    assert not dedup.add("a", 50.0)
    assert dedup.add("b", 1.0)
    assert len(dedup) == 2


def test_capacity_bounds_memory_oldest_first() -> None:
    dedup = DedupWindow(capacity=3, window_s=1e9)
    for i in range(5):
        assert dedup.add(f"e{i}", float(i))
    assert len(dedup) == 3
    assert "e0" not in dedup and "e1" not in dedup
    assert dedup.add("e0", 6.0)  # forgotten, so accepted again
    assert not dedup.add("e3", 7.0)  # seen again: moves to the back
    assert dedup.add("e9", 8.0)  # evicts e4, the least recently seen
    assert "e4" not in dedup and "e3" in dedup


def test_ids_older_than_window_behind_watermark_are_forgotten() -> None:
    dedup = DedupWindow(capacity=100, window_s=10.0)
    dedup.add("old", 0.0)
    dedup.add("mid", 5.0)
    dedup.add("new", 15.0)  # watermark 15: horizon 5 evicts "old" only
    assert "old" not in dedup
    assert "mid" in dedup
    assert dedup.watermark == 15.0


def test_late_event_does_not_move_watermark_back() -> None:
    dedup = DedupWindow(capacity=100, window_s=10.0)
    dedup.add("a", 100.0)
    dedup.add("late", 95.0)
    assert dedup.watermark == 100.0
    assert "late" in dedup


@pytest.mark.parametrize("capacity", [1, 7, 50])
def test_guarantee_holds_live_and_after_a_rebuild_from_the_last_capacity_records(capacity: int) -> None:
    """A copy is caught when an earlier copy is among the previous ``capacity`` records — live, and after a
    restart that rebuilt the state by replaying only the last ``capacity`` records."""
    rng = random.Random(capacity)
    stream = [(f"id{rng.randrange(60)}", float(t)) for t in range(600)]
    split = 300
    live = DedupWindow(capacity, window_s=1e9)
    for event_id, t in stream[:split]:
        live.add(event_id, t)
    rebuilt = DedupWindow(capacity, window_s=1e9)
    for event_id, t in stream[split - capacity : split]:
        rebuilt.add(event_id, t)
    last_copy: dict[str, int] = {}
    checked = 0
    for position, (event_id, t) in enumerate(stream):
        previous = last_copy.get(event_id)
        last_copy[event_id] = position
        if position < split:
            continue
        live_new, rebuilt_new = live.add(event_id, t), rebuilt.add(event_id, t)
        if previous is not None and previous >= position - capacity:
            checked += 1
            assert not live_new and not rebuilt_new, (position, event_id)
        if previous is None:
            assert live_new and rebuilt_new
    assert checked > 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        DedupWindow(0, 1.0)
