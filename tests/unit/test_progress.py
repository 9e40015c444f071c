"""Progress bars stay silent off a terminal; the simulator's sink counts records; explain streams its topic scan."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

import kairos.explain
from kairos.progress import enabled, progress, track
from kairos.simulate import CountingSink
from schemas.examples import example_decision
from streams.config import KafkaConfig
from tests.unit.test_simulator_runner import FakeSink


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_draw_only_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert not enabled(io.StringIO())
    assert enabled(Terminal())
    with progress("quiet", total=3) as bar:
        bar.update(3)
        assert bar.disable
    assert list(track(iter("abc"), "quiet")) == ["a", "b", "c"]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


class BarStub:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n


def test_counting_sink_forwards_and_counts() -> None:
    inner = FakeSink()
    bar = BarStub()
    sink = CountingSink(inner, bar)  # type: ignore[arg-type]
    for i in range(5):
        sink.produce("t", str(i).encode(), b"{}", 0)
    assert bar.n == 5 and len(inner.records) == 5
    assert sink.delivered == 5 and sink.flush(1.0) == 0 and sink.failed_event_ids == []


class FakeMessage:
    def __init__(self, value: bytes) -> None:
        self._value = value

    def value(self) -> bytes:
        return self._value


def test_explain_streams_the_topic_and_stops_at_the_match(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = example_decision()
    other = msgspec.json.encode(msgspec.structs.replace(wanted, decision_id="d-other"))
    pulled: list[int] = []

    def read_range(kafka: Any, topic: str, partition: int, start: int, **_: Any) -> Iterator[FakeMessage]:
        for i in range(1000):  # a "large" partition: only what the scan asks for is produced
            pulled.append(partition)
            hit = partition == 1 and i == 10
            yield FakeMessage(msgspec.json.encode(wanted) if hit else other)

    monkeypatch.setattr(kairos.explain, "read_range", read_range)
    monkeypatch.setattr(kairos.explain, "watermarks", lambda *a, **k: (0, 1000))
    found = kairos.explain.find_decision(KafkaConfig(), "decisions", 4, wanted.decision_id)
    assert found == wanted
    assert len(pulled) == 1000 + 11, "partition 0 whole, partition 1 up to the match, nothing after"
    assert kairos.explain.find_decision(KafkaConfig(), "decisions", 2, "d-missing") is None
