"""The same event id under two keys (a publisher re-keying after login and retrying) comes out once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from confluent_kafka import Producer

from agents.ingest import IngestHandler
from kairos.settings import Settings
from schemas.codec import encode
from schemas.events import ProductView
from streams.clients import producer_config
from streams.provenance import SOURCE_HEADER, parse_source
from streams.reader import read_range
from tests.integration.kafka_io import produce_all, read_all
from tests.integration.test_ingest import run_until

pytestmark = pytest.mark.integration


def _miskeyed(records: list[tuple[bytes | None, bytes]]) -> int:
    """How many records ingest re-publishes under their own key (each is then consumed once more)."""
    return sum(key != orjson.loads(raw)["user_id"].encode() for key, raw in records)


def _records(n: int, seed: int) -> tuple[list[tuple[bytes | None, bytes]], set[str]]:
    """Each logged-in event once under ``user_id`` and once under ``anonymous_id``; some only without a key."""
    rng, now = random.Random(seed), datetime.now(UTC)
    records: list[tuple[bytes | None, bytes]] = []
    ids: set[str] = set()
    for i in range(n):
        user, anon = f"u{rng.randrange(50)}", f"anon-{rng.randrange(10_000)}"
        raw = encode(
            ProductView(
                event_id=f"k-{seed}-{i}",
                event_time=now - timedelta(seconds=n - i),
                schema_version=1,
                session_id=f"s-{user}",
                user_id=user,
                anonymous_id=anon,
                product_id=f"p{i % 20}",
                price=5.0,
            )
        )
        ids.add(f"k-{seed}-{i}")
        if i % 7 == 0:
            records.append((None, raw))  # a publisher that does not key at all
        else:
            records.extend([(user.encode(), raw), (anon.encode(), raw)])
    rng.shuffle(records)
    return records, ids


def _assert_once_under_the_user_key(settings: Settings, ids: set[str]) -> None:
    events = read_all(settings.kafka, settings.topics.events, settings.topics.partitions)
    seen = Counter(orjson.loads(m.value() or b"")["event_id"] for m in events)
    assert set(seen) == ids and max(seen.values()) == 1, "an event id came out twice (or never)"
    for msg in events:
        assert msg.key() == orjson.loads(msg.value() or b"")["user_id"].encode()
    by_key: dict[bytes | None, set[int | None]] = {}
    for msg in events:
        by_key.setdefault(msg.key(), set()).add(msg.partition())
    assert all(len(parts) == 1 for parts in by_key.values()), "a user's events on two partitions"


def test_the_same_event_id_under_two_keys_passes_once(topics: Settings) -> None:
    records, ids = _records(600, seed=31)
    produce_all(topics.kafka, topics.topics.raw_events, records)
    run_until(topics, len(records) + _miskeyed(records))
    _assert_once_under_the_user_key(topics, ids)
    raw = {(m.partition(), m.offset()): m for m in read_all(topics.kafka, topics.topics.raw_events, 4)}
    copies = [m for m in raw.values() if SOURCE_HEADER in dict(m.headers() or [])]
    assert len(copies) == _miskeyed(records)
    for copy in copies:  # each copy keeps its original's timestamp
        _, partition, offset = parse_source(dict(copy.headers() or [])[SOURCE_HEADER])
        assert copy.timestamp() == raw[(partition, offset)].timestamp()


def test_rekeying_is_exact_across_a_crash_before_the_commit(topics: Settings) -> None:
    records, ids = _records(400, seed=32)
    produce_all(topics.kafka, topics.topics.raw_events, records)
    crashed = IngestHandler(topics.kafka, topics.topics, topics.ingest)
    producer = Producer(producer_config(topics.kafka, **{"enable.idempotence": True}))
    for partition in range(topics.topics.partitions):
        crashed.assigned(topics.topics.raw_events, partition, -1)
        whole = list(read_range(topics.kafka, topics.topics.raw_events, partition, 0))
        crashed.handle(whole[: len(whole) // 2], producer)
    assert producer.flush(30) == 0  # delivered (re-keyed copies included); nothing committed
    raw = read_all(topics.kafka, topics.topics.raw_events, topics.topics.partitions)
    run_until(topics, len(raw) + _miskeyed(records))  # the restart re-keys every mis-keyed record again
    _assert_once_under_the_user_key(topics, ids)
