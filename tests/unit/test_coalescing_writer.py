"""CoalescingWriter: latest row per key wins, one write per view, errors surface to the caller."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from featurestore.coalescing import CoalescingWriter
from featurestore.errors import FeatureStoreUnavailableError


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


class Outage:
    """A store that is down for its first ``down`` writes (a transient error), then writes."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.calls: list[tuple[str, list[Mapping[str, Any]]]] = []

    def __call__(self, view: str, rows: list[Mapping[str, Any]]) -> None:
        if self.down > 0:
            self.down -= 1
            raise FeatureStoreUnavailableError("redis: connection refused")
        self.calls.append((view, rows))


def test_an_outage_keeps_the_rows_pending_and_the_latest_row_wins_when_it_ends() -> None:
    sink, failed = Outage(down=2), list[tuple[str, int]]()
    writer = CoalescingWriter(sink, interval_s=3600, on_failed=lambda view, n: failed.append((view, n)))
    writer.offer("user", {"u1": {"user_id": "u1", "n": 1}, "u2": {"user_id": "u2", "n": 1}})
    with pytest.raises(FeatureStoreUnavailableError):
        writer.flush()
    writer.offer("user", {"u1": {"user_id": "u1", "n": 2}})  # offered during the outage: newer than the kept row
    assert writer.pending == 2 and failed == [("user", 2)]
    with pytest.raises(FeatureStoreUnavailableError):
        writer.flush()
    writer.flush()
    assert writer.pending == 0
    [(view, rows)] = sink.calls
    assert view == "user" and sorted(r["n"] for r in rows) == [1, 2]
    assert {"user_id": "u1", "n": 2} in rows
    writer.close()


def test_the_thread_retries_with_backoff_and_recovers_on_its_own() -> None:
    sink = Outage(down=3)
    writer = CoalescingWriter(sink, interval_s=0.01, max_backoff_s=0.05)
    writer.offer("user", {"u1": {"user_id": "u1", "n": 1}})
    deadline = time.monotonic() + 10
    while not sink.calls and time.monotonic() < deadline:
        if sink.down > 0:
            assert writer.pending == 1  # kept while the store is down
        time.sleep(0.005)
    assert sink.calls == [("user", [{"user_id": "u1", "n": 1}])]
    assert writer.available and writer.failures == 0
    writer.offer("user", {"u2": {"user_id": "u2", "n": 1}})  # the writer still works: nothing raised
    writer.close()
    assert len(sink.calls) == 2


def test_the_worker_shows_the_store_down_as_alive_but_not_ready() -> None:
    from kairos.worker import _store_status

    writer = CoalescingWriter(Outage(down=1), interval_s=3600)
    assert _store_status(writer).ready
    writer.offer("user", {"u1": {"user_id": "u1"}})
    with pytest.raises(FeatureStoreUnavailableError):
        writer.flush()
    down = _store_status(writer)
    assert down.alive and not down.ready
    assert down.reason == "online store unavailable: 1 failed writes, 1 rows pending"
    writer.flush()
    assert _store_status(writer).ready
    writer.close()
