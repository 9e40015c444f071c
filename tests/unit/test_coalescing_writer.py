"""CoalescingWriter: latest row per key wins, one write per view, errors surface to the caller."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from featurestore.coalescing import CoalescingWriter


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[Mapping[str, Any]]]] = []
        self.fail = fail

    def __call__(self, view: str, rows: list[Mapping[str, Any]]) -> None:
        if self.fail:
            raise OSError("store down")
        self.calls.append((view, rows))


def test_rows_for_the_same_key_coalesce_and_each_view_is_one_call() -> None:
    sink = Recorder()
    writer = CoalescingWriter(sink, interval_s=3600)
    writer.offer("user", {"u1": {"user_id": "u1", "n": 1}})
    writer.offer("user", {"u1": {"user_id": "u1", "n": 2}, "u2": {"user_id": "u2", "n": 1}})
    writer.offer("session", {"s1": {"session_id": "s1", "n": 5}})
    assert writer.pending == 3
    writer.close()
    assert sorted((view, len(rows)) for view, rows in sink.calls) == [("session", 1), ("user", 2)]
    users = dict(sink.calls)["user"]
    assert {"user_id": "u1", "n": 2} in users


def test_background_thread_writes_on_its_interval() -> None:
    sink = Recorder()
    writer = CoalescingWriter(sink, interval_s=0.01)
    writer.offer("user", {"u1": {"user_id": "u1"}})
    for _ in range(500):
        if sink.calls:
            break
        time.sleep(0.01)
    writer.close()
    assert sink.calls == [("user", [{"user_id": "u1"}])]


def test_a_failed_background_write_surfaces_on_the_next_offer() -> None:
    writer = CoalescingWriter(Recorder(fail=True), interval_s=0.01)
    writer.offer("user", {"u1": {"user_id": "u1"}})
    with pytest.raises(RuntimeError, match="writer failed"):
        for _ in range(500):
            writer.offer("user", {"u1": {"user_id": "u1"}})
            time.sleep(0.01)
    with pytest.raises(RuntimeError):
        writer.close()


def test_history_keeps_every_written_version_and_appends_when_due() -> None:
    online, history = Recorder(), Recorder()
    now = [0.0]
    writer = CoalescingWriter(online, interval_s=3600, write_history=history, history_every_s=60, clock=lambda: now[0])
    writer.offer("user", {"u1": {"user_id": "u1", "n": 1}})
    writer.flush()
    writer.offer("user", {"u1": {"user_id": "u1", "n": 2}})
    writer.flush()
    assert history.calls == []  # not due yet: history parts are batched
    now[0] = 61.0
    writer.offer("session", {"s1": {"session_id": "s1", "n": 5}})
    writer.flush()
    assert sorted(history.calls, key=lambda call: call[0]) == [
        ("session", [{"session_id": "s1", "n": 5}]),
        ("user", [{"user_id": "u1", "n": 1}, {"user_id": "u1", "n": 2}]),
    ]
    writer.offer("user", {"u1": {"user_id": "u1", "n": 3}})
    writer.close()  # close appends what is left, due or not
    assert history.calls[-1] == ("user", [{"user_id": "u1", "n": 3}])
    assert len(online.calls) == 4
