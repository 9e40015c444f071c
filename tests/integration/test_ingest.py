"""Ingest against the real broker: exactly the valid events downstream, exactly the bad ones dead-lettered."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from agents.ingest import IngestHandler
from kairos.settings import Settings
from kairos.worker import ingest_loop
from schemas.deadletter import dead_letter_from_record
from streams.batch_loop import BatchLoop
from streams.clients import producer_config
from streams.provenance import SOURCE_HEADER, parse_source
from streams.reader import committed_total, read_range
from tests.integration.kafka_io import produce_all, read_all
from tests.integration.records import Mix, make_mix

pytestmark = pytest.mark.integration


def run_until(settings: Settings, records: int, timeout_s: float = 60.0) -> BatchLoop:
    """Run an ingest loop in a thread until it has consumed ``records`` input records, then stop it cleanly."""
    loop = ingest_loop(settings)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while loop.records < records and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    stop.set()
    thread.join(30)
    assert loop.records >= records, f"ingest consumed {loop.records} of {records} records in {timeout_s}s"
    return loop


def assert_outputs_exact(settings: Settings, mix: Mix) -> None:
    topics, kafka, parts = settings.topics, settings.kafka, settings.topics.partitions
    events = read_all(kafka, topics.events, parts)
    ids = Counter(_event_id(m.value() or b"") for m in events)
    assert sum(ids.values()) == len(mix.valid_ids), "duplicated or lost events"
    assert set(ids) == mix.valid_ids
    for msg in events:
        headers = dict(msg.headers() or [])
        src_topic, src_partition, _ = parse_source(headers[SOURCE_HEADER])
        assert (src_topic, src_partition) == (topics.raw_events, msg.partition())
    dead = [
        dead_letter_from_record(m.key(), m.value(), m.headers()) for m in read_all(kafka, topics.dead_letters, parts)
    ]
    assert Counter(d.reason for d in dead) == mix.dead_reasons
    assert {d.raw for d in dead} == mix.dead_raw
    raw = {(m.partition(), m.offset()): m.value() for m in read_all(kafka, topics.raw_events, parts)}
    for letter in dead:
        assert letter.stage == "ingest" and letter.detail and letter.source_topic == topics.raw_events
        assert raw[(letter.source_partition, letter.source_offset)] == letter.raw


def _event_id(raw: bytes) -> str:
    import orjson

    return str(orjson.loads(raw)["event_id"])


def test_exact_routing_and_committed_offsets(topics: Settings) -> None:
    mix = make_mix(3000, seed=1, now=datetime.now(UTC))
    produce_all(topics.kafka, topics.topics.raw_events, mix.records)
    run_until(topics, len(mix.records))
    assert_outputs_exact(topics, mix)
    done = committed_total(topics.kafka, topics.ingest.group_id, topics.topics.raw_events, topics.topics.partitions)
    assert done == len(mix.records)


def test_crash_after_delivery_before_commit_replays_without_duplicates(topics: Settings) -> None:
    """The exact crash window of at-least-once: outputs delivered, input offsets not committed."""
    mix = make_mix(2000, seed=2, now=datetime.now(UTC))
    produce_all(topics.kafka, topics.topics.raw_events, mix.records)
    crashed = IngestHandler(topics.kafka, topics.topics, topics.ingest)
    producer = Producer(producer_config(topics.kafka, **{"enable.idempotence": True}))
    for partition in range(topics.topics.partitions):
        crashed.assigned(topics.topics.raw_events, partition, -1)
        half = list(read_range(topics.kafka, topics.topics.raw_events, partition, 0))
        crashed.handle(half[: len(half) // 2], producer)
    assert producer.flush(30) == 0  # delivered; nothing committed: the process "dies" here
    run_until(topics, len(mix.records))
    assert_outputs_exact(topics, mix)


def test_publisher_duplicates_after_a_clean_restart_are_caught_by_the_rebuilt_window(
    topics: Settings,
) -> None:
    mix = make_mix(1000, seed=3, now=datetime.now(UTC), dup_share=0.0)
    produce_all(topics.kafka, topics.topics.raw_events, mix.records)
    run_until(topics, len(mix.records))
    valid = [(k, v) for k, v in mix.records if _is_valid(v, mix)]
    produce_all(topics.kafka, topics.topics.raw_events, valid[:100])  # a publisher retries 100 old events
    run_until(topics, 100)
    assert_outputs_exact(topics, mix)


def _is_valid(raw: bytes, mix: Mix) -> bool:
    try:
        return _event_id(raw) in mix.valid_ids
    except Exception:  # noqa: BLE001 - malformed test records are simply not valid
        return False
