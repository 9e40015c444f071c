"""kairos archive on the real broker: every record once with its coordinates, resumed where it stopped."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Producer

from kairos.settings import Settings
from streams.archive import archive_topics, iter_partition, open_archive, partition_for
from streams.clients import producer_config
from tests.integration.kafka_io import read_all


def _produce(settings: Settings, topic: str, start: int, n: int) -> None:
    producer = Producer(producer_config(settings.kafka))
    for i in range(start, start + n):
        headers = [("kairos.src", f"x/0/{i}".encode())] if i % 2 else None
        producer.produce(topic, f'{{"i":{i}}}'.encode(), f"user-{i % 7}".encode(), headers=headers, timestamp=1000 + i)
    assert producer.flush(30) == 0


def test_archive_sinks_topics_and_resumes(topics: Settings, tmp_path: Path) -> None:
    raw, rewards = topics.topics.raw_events, topics.topics.rewards
    _produce(topics, raw, 0, 300)
    _produce(topics, rewards, 0, 20)
    root = tmp_path / "archive"
    seen: list[int] = []
    first = archive_topics(topics.kafka, root, [raw, rewards], progress=seen.append)
    assert first.records == {raw: 300, rewards: 20} and sum(seen) == 320

    _produce(topics, raw, 300, 50)
    second = archive_topics(topics.kafka, root, [raw, rewards])
    assert second.records == {raw: 50, rewards: 0}  # resumed: only what was new
    assert sum(int(v) for k, v in second.resumed_from.items() if k.startswith(raw)) == 300

    manifest = open_archive(root)
    archived = [r for p in range(4) for r in iter_partition(root, manifest, raw, p)]
    broker = read_all(topics.kafka, raw, 4)
    assert [(r.partition, r.offset, r.key, r.value, r.timestamp_ms) for r in archived] == [
        (m.partition(), m.offset(), m.key(), m.value(), m.timestamp()[1]) for m in broker
    ]
    assert [r.headers for r in archived] == [tuple(m.headers() or ()) for m in broker]
    # the JSON-lines importer partitions keys as the broker's producers do
    assert all(r.partition == partition_for(r.key or b"", 4) for r in archived)
