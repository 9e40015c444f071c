"""The I/O shell against in-memory fakes: pacing, closed-loop decisions, bad payloads, the truth file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from schemas.codec import EventDecoder
from schemas.errors import PoisonMessageError
from simulator import (
    Intervention,
    Simulation,
    SimulationConfig,
    build_decision,
    default_start_time,
    encode_decision,
    run_simulation,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DECODER = EventDecoder()


class FakeClock:
    """Monotonic time that only moves when someone sleeps or blocks."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeSink:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes, int]] = []
        self.flushed = False

    def produce(self, topic: str, key: bytes, value: bytes, timestamp_ms: int) -> None:
        self.records.append((topic, key, value, timestamp_ms))

    def poll(self) -> None:
        return None

    def flush(self, timeout_s: float) -> int:
        self.flushed = True
        return 0

    @property
    def delivered(self) -> int:
        return len(self.records)

    @property
    def failed_event_ids(self) -> list[str]:
        return []


class FakeEngine:
    """Answers every exit intent with a 10% discount; also sends a garbage payload and a stray decision."""

    def __init__(self, sink: FakeSink, clock: FakeClock, start_time: datetime) -> None:
        self.sink, self.clock, self.start_time = sink, clock, start_time
        self.seen = 0
        self.sent = 0
        self.made = 0
        self.closed = False

    def start(self) -> int:
        return 3

    def poll(self, timeout_s: float) -> list[bytes]:
        self.clock.sleep(timeout_s)
        out: list[bytes] = []
        if self.sent == 0:
            out += [b"{not json", self._decision("s-from-another-run", "a-nobody", 0.0)]
        for _, _, value, _ in self.sink.records[self.seen :]:
            try:
                event = DECODER.decode(value)
            except PoisonMessageError:  # the injected malformed records
                continue
            if event.event_type == "exit_intent":
                t = (event.event_time - self.start_time).total_seconds()
                out.append(self._decision(event.session_id, event.anonymous_id, t, event.user_id))
        self.seen = len(self.sink.records)
        self.sent += len(out)
        return out

    def _decision(self, session_id: str, anonymous_id: str | None, t: float, user_id: str | None = None) -> bytes:
        self.made += 1  # unique even for two exit intents of one session in one poll
        iv = Intervention(
            decision_id=f"d-{self.made}-{session_id}",
            session_id=session_id,
            action="discount",
            t=t,
            user_id=user_id,
            anonymous_id=anonymous_id,
            discount_pct=10.0,
        )
        return encode_decision(build_decision(iv, self.start_time))

    def close(self) -> None:
        self.closed = True


def test_closed_loop_run_reports_what_it_sent_and_saw(tmp_path: Path) -> None:
    config = SimulationConfig(
        shoppers=200, duration_s=1800.0, seed=4, start_time=START, malformed_rate=0.02, duplicate_rate=0.02
    )
    clock, sink = FakeClock(), FakeSink()
    engine = FakeEngine(sink, clock, START)
    truth = tmp_path / "truth.jsonl"
    report = run_simulation(
        "unused:9092",
        "events",
        "interventions",
        config,
        speed=60.0,
        truth_path=truth,
        sink=sink,
        source=engine,
        clock=clock,
        sleep=clock.sleep,
    )
    assert sink.flushed and not engine.closed  # an injected source is the caller's to close
    assert {topic for topic, *_ in sink.records} == {"events"}
    assert report.records_by_kind["valid"] == len(report.valid_event_ids)
    assert sum(report.records_by_kind.values()) == len(sink.records) == report.delivered
    assert sum(report.expected_dead_letters.values()) == report.records_by_kind["malformed"]
    assert report.decisions_skipped == 3
    assert report.decisions_bad == 1
    assert report.interventions_by_status.get("unknown_session") == 1
    assert report.interventions_applied > 0
    assert report.reactions and sum(report.reactions.values()) == report.interventions_applied
    assert report.events_by_type["intervention_impression"] > 0
    assert report.wall_seconds >= 1800.0 / 60.0
    lines = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    assert len(lines) == report.decisions_received - report.decisions_bad
    applied = [line for line in lines if line["status"] == "applied"]
    assert len(applied) == report.interventions_applied
    for line in applied:
        assert line["action"]["type"] == "discount"
        assert set(line["oracle"]) >= {"none", "discount", "upsell"}
        assert line["regret"] >= 0.0
        assert line["reaction"] in {"accept", "ignore", "dismiss", "leave"}


def test_every_decision_is_shown_no_earlier_than_its_event_time(tmp_path: Path) -> None:
    config = SimulationConfig(shoppers=150, duration_s=1200.0, seed=9, start_time=START)
    clock, sink = FakeClock(), FakeSink()
    run_simulation(
        "unused:9092",
        "events",
        "interventions",
        config,
        speed=30.0,
        truth_path=tmp_path / "t.jsonl",
        sink=sink,
        source=FakeEngine(sink, clock, START),
        clock=clock,
        sleep=clock.sleep,
    )
    exit_times = {}
    for _, _, value, ts in sink.records:
        event = DECODER.decode(value)
        assert ts == int(event.event_time.timestamp() * 1000)
        if event.event_type == "exit_intent":
            exit_times[event.session_id] = event.event_time
        if event.event_type == "intervention_impression":
            assert event.event_time > exit_times[event.session_id]


def test_flat_out_run_sends_the_pure_simulations_bytes() -> None:
    config = SimulationConfig(shoppers=100, duration_s=900.0, seed=2, start_time=START)
    clock, sink = FakeClock(), FakeSink()

    class Silent(FakeEngine):
        def poll(self, timeout_s: float) -> list[bytes]:
            self.clock.sleep(timeout_s)
            return []

    report = run_simulation(
        "unused:9092",
        "events",
        "interventions",
        config,
        speed=0.0,
        sink=sink,
        source=Silent(sink, clock, START),
        clock=clock,
        sleep=clock.sleep,
        grace_s=0.5,
    )
    expected = Simulation(config).advance(900.0)
    assert [v for _, _, v, _ in sink.records] == [r.value for r in expected]
    assert report.interventions_applied == 0 and report.truth_path is None


def test_the_default_start_keeps_every_event_time_in_the_past() -> None:
    now = datetime(2026, 5, 1, 12, 30, 15, 999_000, tzinfo=UTC)
    config = SimulationConfig(shoppers=50, duration_s=600.0, seed=1)
    clock, sink = FakeClock(), FakeSink()
    report = run_simulation(
        "unused:9092",
        "events",
        "interventions",
        config,
        speed=0.0,
        sink=sink,
        source=FakeEngine(sink, clock, now),
        clock=clock,
        sleep=clock.sleep,
        wall_now=lambda: now,
        grace_s=0.0,
    )
    assert report.start_time == default_start_time(now, 600.0) == datetime(2026, 5, 1, 12, 20, 15, tzinfo=UTC)
    assert all(DECODER.decode(v).event_time <= now for _, _, v, _ in sink.records)
    assert report.start_time + timedelta(seconds=600) <= now
