"""No input stops a stage: records the broker took on the raw topic but would refuse as dead letters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from agents.dead_letter import KEEP_BYTES
from kairos.settings import Settings
from schemas.deadletter import dead_letter_from_record
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.catalogue import CatalogueTable
from streams.clients import producer_config
from tests.integration.kafka_io import read_all
from tests.integration.records import make_mix
from tests.integration.test_catalogue import follow
from tests.integration.test_ingest import _event_id, run_until

pytestmark = pytest.mark.integration

HUGE_VALUE = b'{"event_type": "page_view", "pad": "' + b"x" * 10_000_000 + b'"}'
HUGE_KEY = b"k" * 2_000_000


def test_a_10mb_record_is_dead_lettered_truncated_and_the_stage_keeps_going(topics: Settings) -> None:
    before = make_mix(300, seed=21, now=datetime.now(UTC), bad_share=0.0, dup_share=0.0)
    after = make_mix(300, seed=22, now=datetime.now(UTC), bad_share=0.0, dup_share=0.0)
    # A publisher whose client allows large records: the broker accepts them on the raw topic.
    producer = Producer(producer_config(topics.kafka, **{"message.max.bytes": 20_000_000}))
    raw = topics.topics.raw_events
    for key, value in before.records:
        producer.produce(raw, value, key)
    producer.produce(raw, HUGE_VALUE, b"u1")  # oversize event: 10 MB
    producer.produce(raw, b"not json", HUGE_KEY)  # malformed, with a 2 MB key
    for key, value in after.records:
        producer.produce(raw, value, key)
    assert producer.flush(60) == 0

    n = len(before.records) + 2 + len(after.records)
    run_until(topics, n)  # the stage consumed everything and did not crash

    kafka, parts = topics.kafka, topics.topics.partitions
    ids = [_event_id(m.value() or b"") for m in read_all(kafka, topics.topics.events, parts)]
    assert sorted(ids) == sorted(before.valid_ids | after.valid_ids), "the valid events around the pills came out"
    letters = {
        d.reason: d
        for d in (
            dead_letter_from_record(m.key(), m.value(), m.headers())
            for m in read_all(kafka, topics.topics.dead_letters, parts)
        )
    }
    assert set(letters) == {"oversize", "malformed_json"}
    big = letters["oversize"]
    assert big.truncated and big.raw == HUGE_VALUE[:KEEP_BYTES]
    assert big.original_size == len(HUGE_VALUE)
    assert big.original_sha256 == hashlib.sha256(HUGE_VALUE).hexdigest()
    assert big.key == b"u1" and big.original_key_size is None
    assert big.source_topic == raw and big.stage == "ingest"
    keyed = letters["malformed_json"]
    assert keyed.raw == b"not json" and keyed.original_size is None
    assert keyed.key == HUGE_KEY[:KEEP_BYTES] and keyed.original_key_size == len(HUGE_KEY)
    assert keyed.original_key_sha256 == hashlib.sha256(HUGE_KEY).hexdigest()


def test_a_10mb_catalogue_record_is_dead_lettered_truncated_and_the_table_keeps_following(topics: Settings) -> None:
    """The other topic publishers write: every worker's catalogue follower dead-letters through the same sender."""
    start = datetime.now(UTC) - timedelta(hours=1)
    sim = Simulation(SimulationConfig(shoppers=50, duration_s=600, seed=23, start_time=start))
    records = catalogue_records(sim.catalogue, start)
    producer = Producer(producer_config(topics.kafka, **{"message.max.bytes": 20_000_000}))
    catalogue = topics.topics.catalogue
    for key, value in records[: len(records) // 2]:
        producer.produce(catalogue, value, key)
    producer.produce(catalogue, HUGE_VALUE, b"p-huge")
    for key, value in records[len(records) // 2 :]:
        producer.produce(catalogue, value, key)
    assert producer.flush(60) == 0

    table = CatalogueTable()
    stage = follow(topics, table)  # caught up: it did not stop at the pill
    assert stage.follower.rejected == 1 and len(table) == len(sim.catalogue.products)
    (letter,) = [
        dead_letter_from_record(m.key(), m.value(), m.headers())
        for m in read_all(topics.kafka, topics.topics.dead_letters, topics.topics.partitions)
    ]
    assert (letter.stage, letter.reason, letter.source_topic) == ("follow_catalogue", "oversize", catalogue)
    assert letter.raw == HUGE_VALUE[:KEEP_BYTES] and letter.original_size == len(HUGE_VALUE)
