"""Fuzz through the real broker: a few thousand hostile records on the raw topic next to a running ingest stage.
Zero crashes; every record is accounted for as passed on, re-keyed, a duplicate, or dead-lettered with a reason."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Message, Producer
from hypothesis import given

from kairos.settings import Settings
from kairos.worker import ingest_loop
from schemas.deadletter import dead_letter_from_record
from schemas.errors import DeadLetterReason
from streams.clients import producer_config
from streams.metrics import REGISTRY
from streams.provenance import SOURCE_HEADER, parse_source
from tests.hostile import Mutated, fuzz_settings, hostile_batches
from tests.integration.kafka_io import read_all

pytestmark = pytest.mark.integration

PER_EXAMPLE, EXAMPLES = 25, 120  # 3,000 records


def _generate() -> list[Mutated]:
    records: list[Mutated] = []

    @fuzz_settings(EXAMPLES)
    @given(hostile_batches(PER_EXAMPLE, max_bytes=100_000))
    def collect(batch: list[Mutated]) -> None:
        records.extend(batch)

    collect()
    return records


def _ingest(outcome: str) -> float:
    return REGISTRY.get_sample_value("kairos_ingest_records_total", {"outcome": outcome}) or 0.0


def test_hostile_records_through_the_broker_are_all_accounted_for(topics: Settings) -> None:
    records = _generate()
    assert len(records) == PER_EXAMPLE * EXAMPLES
    producer = Producer(producer_config(topics.kafka, **{"message.max.bytes": 2_000_000}))
    for _, _, key, raw in records:
        producer.produce(topics.topics.raw_events, raw, key)
        producer.poll(0)
    assert producer.flush(60) == 0

    before = {o: _ingest(o) for o in ("rekeyed", "duplicate")}
    loop, stop = ingest_loop(topics), threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run(stop)
        except BaseException as exc:  # noqa: BLE001 - the test reports any crash of the stage
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and thread.is_alive():
        if loop.records >= len(records) + _ingest("rekeyed") - before["rekeyed"]:
            break  # every original and every re-keyed copy consumed
        time.sleep(0.1)
    stop.set()
    thread.join(30)
    assert not failure, f"the ingest stage crashed: {failure[0]!r}"
    rekeyed = int(_ingest("rekeyed") - before["rekeyed"])
    duplicates = int(_ingest("duplicate") - before["duplicate"])
    assert loop.records == len(records) + rekeyed

    kafka, names, parts = topics.kafka, topics.topics, topics.topics.partitions
    raw = {(m.partition(), m.offset()) for m in read_all(kafka, names.raw_events, parts)}
    copies = {_source(m) for m in read_all(kafka, names.raw_events, parts) if _has_source(m)}
    passed = {_source(m) for m in read_all(kafka, names.events, parts)}
    letters = [
        dead_letter_from_record(m.key(), m.value(), m.headers()) for m in read_all(kafka, names.dead_letters, parts)
    ]
    dead = {(d.source_partition, d.source_offset) for d in letters}
    assert len(raw) == len(records) + rekeyed and len(copies) == rekeyed
    assert len(dead) == len(letters) and not (passed & dead) and not (copies & (passed | dead))
    assert (passed | dead | copies) <= raw
    assert len(passed) + len(letters) + len(copies) + duplicates == len(raw), "a record is unaccounted for"
    reasons = Counter(d.reason for d in letters)
    assert set(reasons) <= {r.value for r in DeadLetterReason} and all(d.detail for d in letters)
    print(
        json.dumps(
            {
                "records": len(records),
                "passed": len(passed),
                "rekeyed": rekeyed,
                "duplicates": duplicates,
                "dead_letters": dict(reasons.most_common()),
                "truncated": sum(d.truncated for d in letters),
            }
        )
    )


def _has_source(msg: Message) -> bool:
    return SOURCE_HEADER in dict(msg.headers() or [])


def _source(msg: Message) -> tuple[int, int]:
    _, partition, offset = parse_source(dict(msg.headers() or [])[SOURCE_HEADER])
    return partition, offset
