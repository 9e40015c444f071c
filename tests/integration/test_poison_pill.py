"""No input stops a stage: records the broker took on the raw topic but would refuse as dead letters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from agents.dead_letter import KEEP_BYTES
from kairos.settings import Settings
from schemas.deadletter import dead_letter_from_record
from streams.clients import producer_config
from tests.integration.kafka_io import read_all
from tests.integration.records import make_mix
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
