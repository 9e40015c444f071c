"""Chaos run: SIGKILL a real worker repeatedly while it works through a simulated stream; count what came out twice.

``kairos bench chaos --kills 5 --shoppers 4000 --gap-s 30`` starts its own broker, publishes the simulator's
catalogue and records (valid, malformed, publisher duplicates) to the raw topic, then starts a ``kairos worker``
(decisions on the fallback policy, attribution and learning on) and SIGKILLs it ``--kills`` times, ``--gap-s``
seconds after each start; a last worker finishes the stream and is stopped with SIGTERM. The last line is one JSON
object: records in, events out, lost, and duplicates per output topic (events by ``event_id``, decisions by
``decision_id`` and by trigger, contexts, rewards by ``reward_id``, dead letters by stage and source coordinates),
plus the seconds each restart took to get ready and ``held_back``: per restart and partition where the feature stage
found decisions already published past its committed offset (a kill between produce and commit), the offsets it
held back (from the stage's ``decisions_emitted_through`` log line).
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

from bench.stack import bench_broker
from kairos.processes import start_worker
from kairos.progress import track
from kairos.settings import Settings, load_settings
from schemas.deadletter import dead_letter_from_record
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.broker import free_port
from streams.clients import producer_config
from streams.reader import committed_total, read_topic
from streams.topics import ensure_topics, topic_specs

__all__ = ["run"]

_PARTITIONS = 4
_ASSIGNED = re.compile(r"committed=(-?\d+) .*decisions_emitted_through=\{'[^']*interventions[^']*': (-?\d+)")


def _produce(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    producer = Producer(producer_config(settings.kafka))
    for n, (key, value) in enumerate(records):
        producer.produce(topic, value, key)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(60):
        raise RuntimeError(f"records for {topic} were not acknowledged")


def _duplicates(counts: Mapping[Any, int]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


def _values(settings: Settings, topic: str, field: str) -> Counter[Hashable]:
    return Counter(orjson.loads(m.value() or b"")[field] for m in read_topic(settings.kafka, topic, _PARTITIONS))


def _held_back(logs: Iterable[Path]) -> list[int]:
    """Per partition assignment that found decisions past its commit: how many trigger offsets that spans."""
    spans = []
    for log in logs:
        for committed, through in _ASSIGNED.findall(log.read_text(errors="replace")):
            if int(through) >= max(int(committed), 0):
                spans.append(int(through) - max(int(committed), 0) + 1)
    return spans


def _wait_done(settings: Settings, raw: int, timeout_s: float) -> None:
    """Until ingest committed every raw record and the feature stage every event (then a grace for the others)."""
    topics, deadline = settings.topics, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if committed_total(settings.kafka, settings.ingest.group_id, topics.raw_events, _PARTITIONS) >= raw:
            events = len(read_topic(settings.kafka, topics.events, _PARTITIONS))
            group = f"{topics.namespace}-features"
            if committed_total(settings.kafka, group, topics.events, _PARTITIONS) >= events:
                time.sleep(10)  # attribution and the learner follow the feature stage
                return
        time.sleep(3)
    raise TimeoutError(f"the stream was not worked through in {timeout_s}s")


def run(*, kills: int, shoppers: int, gap_s: float, seed: int = 3, timeout_s: float = 1200.0) -> dict[str, Any]:
    """One chaos run (see the module docstring)."""
    with bench_broker() as broker, tempfile.TemporaryDirectory(prefix="kairos-chaos-") as tmp:
        root, namespace = Path(tmp), f"chaos{uuid.uuid4().hex[:8]}"
        settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": namespace, "partitions": _PARTITIONS},
            ingest={"group_id": f"{namespace}-ingest", "batch_size": 500},
            worker={"web_port": free_port(), "data_dir": str(root / "var")},
            learn={"enabled": True},
        )
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        config = SimulationConfig(
            shoppers=shoppers, duration_s=3600, seed=seed, start_time=start, malformed_rate=0.02, duplicate_rate=0.02
        )
        sim = Simulation(config)
        _produce(settings, settings.topics.catalogue, catalogue_records(sim.catalogue, start))
        records = list(sim.advance(sim.end))
        _produce(settings, settings.topics.raw_events, ((r.key, r.value) for r in records))
        valid = {orjson.loads(r.value)["event_id"] for r in records if r.kind == "valid"}

        ready_s: list[float] = []
        for life in track(range(kills + 1), "bench chaos: worker lives (SIGKILL after each but the last)", unit="life"):
            started = time.monotonic()
            worker = start_worker(settings, root / f"worker-{life}.log", ready_timeout_s=180)
            ready_s.append(round(time.monotonic() - started, 1))
            if life == kills:
                break
            time.sleep(gap_s)
            worker.kill()
        try:
            _wait_done(settings, len(records), timeout_s)
        finally:
            worker.stop()

        topics = settings.topics
        events = _values(settings, topics.events, "event_id")
        decisions = read_topic(settings.kafka, topics.interventions, _PARTITIONS)
        by_id = Counter(orjson.loads(m.value() or b"")["decision_id"] for m in decisions)
        by_trigger = Counter(orjson.loads(m.value() or b"")["trigger_event_id"] for m in decisions)
        contexts = _values(settings, topics.decision_contexts, "decision_id")
        rewards = _values(settings, topics.rewards, "reward_id")
        letters = Counter(
            (d.stage, d.source_topic, d.source_partition, d.source_offset)
            for d in (
                dead_letter_from_record(m.key(), m.value(), m.headers())
                for m in read_topic(settings.kafka, topics.dead_letters, _PARTITIONS)
            )
        )
        return {
            "kills": kills,
            "gap_s": gap_s,
            "raw_records": len(records),
            "valid_event_ids": len(valid),
            "events_out": sum(events.values()),
            "events_lost": len(valid - set(events)),
            "duplicates": {
                "events": _duplicates(events),
                "decisions_by_id": _duplicates(by_id),
                "decisions_by_trigger": _duplicates(by_trigger),
                "contexts": _duplicates(contexts),
                "rewards": _duplicates(rewards),
                "dead_letters": _duplicates(letters),
            },
            "decisions": sum(by_id.values()),
            "contexts": sum(contexts.values()),
            "rewards": sum(rewards.values()),
            "dead_letters": sum(letters.values()),
            "worker_ready_s": ready_s,
            "held_back": _held_back(sorted(root.glob("worker-*.log"))),
        }
