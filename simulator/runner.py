"""The I/O shell: run a simulation against Kafka, pacing sim time, applying decisions as they arrive.

``run_simulation`` produces the simulation's records to the events topic, reads decisions from the
interventions topic and shows each to its shopper at the sim time it arrives (never before its event time),
then writes the ground-truth log and returns a :class:`SimulationReport`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from simulator.config import SimulationConfig
from simulator.engine import Simulation
from simulator.errors import BadDecisionError
from simulator.kafka_io import DecisionSource, KafkaDecisionSource, KafkaRecordSink, RecordSink
from simulator.records import SimRecord
from simulator.summary import SimulationSummary
from simulator.wire import catalogue_records, decode_decision

__all__ = ["SimulationReport", "default_start_time", "run_simulation", "write_truth"]

logger = logging.getLogger(__name__)

_TICK_S = 0.01
_FAST_STEPS = 20_000
_FLUSH_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What a run sent and saw: the expectations an end-to-end test asserts against.

    Attributes:
        start_time: event time of sim time 0.
        records_by_kind: records produced by kind (``valid``, ``malformed``, ``duplicate``).
        expected_dead_letters: malformed records by the dead-letter reason ingest must give.
        valid_event_ids: ids of the valid events; each must arrive downstream exactly once.
        delivered: records the broker acknowledged.
        delivery_failed_event_ids: event ids of records the broker refused (empty on a healthy run).
        undelivered: records still queued when the final flush timed out.
        decisions_skipped: decisions already in the topic when the run started (ignored).
        decisions_received: decision payloads read during the run.
        decisions_bad: payloads that did not decode or did not fit (counted, ignored).
        interventions_applied: decisions shown to (or, for ``none``, acknowledged by) a live session.
        interventions_by_status: every decision's final status.
        reactions: applied decisions by reaction.
        sessions: sessions started.
        purchases, revenue: orders and their net value (EUR).
        conversion_rate: sessions with a purchase / sessions.
        events_by_type: valid events by type.
        truth_path: where the ground-truth log was written, if anywhere.
        wall_seconds: how long the run took.
        summary: the simulation's full counters.
    """

    start_time: datetime
    records_by_kind: dict[str, int]
    expected_dead_letters: dict[str, int]
    valid_event_ids: frozenset[str]
    delivered: int
    delivery_failed_event_ids: tuple[str, ...]
    undelivered: int
    decisions_skipped: int
    decisions_received: int
    decisions_bad: int
    interventions_applied: int
    interventions_by_status: dict[str, int]
    reactions: dict[str, int]
    sessions: int
    purchases: int
    revenue: float
    conversion_rate: float
    events_by_type: dict[str, int]
    truth_path: Path | None
    wall_seconds: float
    summary: SimulationSummary = field(repr=False)


def default_start_time(now: datetime, duration_s: float) -> datetime:
    """Wall time minus the simulated duration, floored to the second: no event time lands in the future.

    >>> default_start_time(datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC), 3600.0).isoformat()
    '2026-03-01T11:00:00+00:00'
    """
    return (now - timedelta(seconds=duration_s)).replace(microsecond=0)


def run_simulation(
    bootstrap: str,
    events_topic: str,
    interventions_topic: str,
    config: SimulationConfig,
    *,
    speed: float,
    truth_path: Path | None = None,
    catalogue_topic: str | None = None,
    grace_s: float = 2.0,
    sink: RecordSink | None = None,
    source: DecisionSource | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wall_now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SimulationReport:
    """Run ``config`` against the broker and return what was sent and seen.

    Args:
        bootstrap: broker address.
        events_topic: where shopper events go (pre-created).
        interventions_topic: where the engine publishes decisions (pre-created).
        config: the simulation; ``config.start_time`` defaults to :func:`default_start_time`.
        speed: sim seconds per wall second; ``<= 0`` runs as fast as possible (decisions then arrive late in
            sim time, so most find their session over: use a finite speed for closed-loop runs).
        truth_path: write the ground-truth log here (one JSON line per decision).
        catalogue_topic: when given, the simulated shop's catalogue is published there first (as the platform's
            catalogue feed would be), stamped with the start time.
        grace_s: after the last record, keep reading decisions this long (applied at the end time).
        sink: record sink (default: a confluent-kafka producer on ``bootstrap``).
        source: decision source (default: a confluent-kafka consumer of ``interventions_topic``).
        clock: monotonic seconds (injected for tests).
        sleep: how to wait between ticks (injected for tests).
        wall_now: wall-clock now, used only for the default start time.

    Returns:
        The report.

    Raises:
        TopicMissingError: the interventions topic does not exist.
    """
    start_time = config.start_time or default_start_time(wall_now(), config.duration_s)
    sim = Simulation(config, start_time)
    own_source = source is None
    source = source or KafkaDecisionSource(bootstrap, interventions_topic)
    sink = sink or KafkaRecordSink(bootstrap)
    valid_ids: set[str] = set()
    decisions: Counter[str] = Counter()
    try:
        decisions["skipped"] = source.start()
        if catalogue_topic is not None:
            stamp = int(start_time.timestamp() * 1000)
            for key, value in catalogue_records(sim.catalogue, start_time):
                sink.produce(catalogue_topic, key, value, stamp)
        wall0 = clock()
        fast_step = max(1.0, config.duration_s / _FAST_STEPS)
        while True:
            target = sim.now + fast_step if speed <= 0 else (clock() - wall0) * speed
            _send(sink, events_topic, sim.advance(min(target, sim.end)), valid_ids)
            sink.poll()
            _apply(sim, source.poll(0.0), decisions)
            if sim.now >= sim.end:
                break
            if speed > 0:
                sleep(_TICK_S)
        deadline = clock() + grace_s
        while clock() < deadline:
            _apply(sim, source.poll(0.1), decisions)
            sink.poll()
        undelivered = sink.flush(_FLUSH_TIMEOUT_S)
    finally:
        if own_source:
            source.close()
    if truth_path is not None:
        write_truth(sim, truth_path)
    summary = sim.summary()
    report = SimulationReport(
        start_time=start_time,
        records_by_kind=summary.records_by_kind,
        expected_dead_letters=summary.malformed_by_reason,
        valid_event_ids=frozenset(valid_ids),
        delivered=sink.delivered,
        delivery_failed_event_ids=tuple(sink.failed_event_ids),
        undelivered=undelivered,
        decisions_skipped=decisions["skipped"],
        decisions_received=decisions["received"],
        decisions_bad=decisions["bad"],
        interventions_applied=summary.interventions_applied,
        interventions_by_status=summary.interventions_by_status,
        reactions=summary.reactions,
        sessions=summary.sessions_started,
        purchases=summary.purchases,
        revenue=summary.revenue,
        conversion_rate=summary.conversion_rate,
        events_by_type=summary.events_by_type,
        truth_path=truth_path,
        wall_seconds=clock() - wall0,
        summary=summary,
    )
    logger.info(
        "simulation done records=%s dead_letters=%s decisions=%s applied=%s wall_s=%.1f",
        report.records_by_kind,
        report.expected_dead_letters,
        report.decisions_received,
        report.interventions_applied,
        report.wall_seconds,
    )
    return report


def write_truth(sim: Simulation, path: Path) -> None:
    """Write one JSON line per decision the simulation received (see :class:`~simulator.truth.TruthEntry`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for entry in sim.truth_entries():
            out.write(orjson.dumps(entry.to_json(sim.start_time)) + b"\n")


def _send(sink: RecordSink, topic: str, records: Iterable[SimRecord], valid_ids: set[str]) -> None:
    for record in records:
        sink.produce(topic, record.key, record.value, int(record.event_time.timestamp() * 1000))
        if record.kind == "valid" and record.event_id is not None:
            valid_ids.add(record.event_id)


def _apply(sim: Simulation, payloads: list[bytes], decisions: Counter[str]) -> None:
    for raw in payloads:
        decisions["received"] += 1
        try:
            decision = decode_decision(raw)
        except BadDecisionError as exc:
            decisions["bad"] += 1
            logger.warning("bad decision payload: %s", exc)
            continue
        if sim.apply_intervention(decision, sim.now) is None:
            decisions["bad"] += 1
