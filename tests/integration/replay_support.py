"""Helpers for the replay tests: an old simulated log on a deployment's raw topic, topic snapshots."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer

from kairos.settings import Settings
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.clients import producer_config
from streams.reader import read_range
from streams.topics import topic_specs

OLD = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""A start time far older than ``ingest.max_past_skew_s`` (7 days) behind any test run's wall clock."""


def publish_log(settings: Settings, *, shoppers: int = 150, duration_s: float = 2400.0, seed: int = 3) -> Counter[str]:
    """Publish a seeded simulated log (catalogue first); returns the dead-letter reasons its bad records must get.

    Each record is stamped with the time it was sent (as a platform's producer stamps its create time), not the
    time its event claims: the simulator's clock-skewed records claim times far from when they were sent.
    """
    config = SimulationConfig(shoppers=shoppers, duration_s=duration_s, seed=seed, start_time=OLD, malformed_rate=0.01)
    sim = Simulation(config, OLD)
    producer = Producer(producer_config(settings.kafka))
    stamp = int(OLD.timestamp() * 1000)
    for key, value in catalogue_records(sim.catalogue, OLD):
        producer.produce(settings.topics.catalogue, value, key, timestamp=stamp)
    expected: Counter[str] = Counter()
    for record in sim.advance(sim.end):
        producer.produce(settings.topics.raw_events, record.value, record.key, timestamp=sent_ms(OLD, record.sim_time))
        if record.expected_reason is not None:
            expected[record.expected_reason] += 1
    assert producer.flush(30) == 0
    return expected


def sent_ms(start: datetime, sim_time: float) -> int:
    """The create time of a simulated record: when it was sent."""
    return int((start + timedelta(seconds=sim_time)).timestamp() * 1000)


def snapshot(settings: Settings) -> dict[str, list[tuple[int, int, bytes | None, bytes | None]]]:
    """Every record of every topic of the deployment: (partition, offset, key, value)."""
    out = {}
    for spec in topic_specs(settings.topics):
        out[spec.name] = [
            (m.partition() or 0, m.offset() or 0, m.key(), m.value())
            for p in range(spec.partitions)
            for m in read_range(settings.kafka, spec.name, p, 0)
        ]
    return out


def partition_bytes(settings: Settings, topic: str) -> list[list[bytes]]:
    """The values of ``topic`` partition by partition, in offset order."""
    return [
        [m.value() or b"" for m in read_range(settings.kafka, topic, p, 0)] for p in range(settings.topics.partitions)
    ]


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (empty when ``path`` does not exist)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def with_replay_dir(settings: Settings, directory: Path) -> Settings:
    """``settings`` whose replays keep their state under ``directory``."""
    return replace(settings, replay=replace(settings.replay, data_dir=str(directory)))
