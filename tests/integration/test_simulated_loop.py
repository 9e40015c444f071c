"""End to end with the shopper simulator: its records through the worker's ingest, checked against its truth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from kairos.processes import start_worker
from kairos.settings import Settings
from kairos.simulate import simulate_to_kafka
from schemas.deadletter import dead_letter_from_record
from tests.integration.kafka_io import read_all
from tests.integration.test_worker import committed
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.integration


def test_simulated_shoppers_come_out_exactly(topics: Settings, tmp_path: Path) -> None:
    worker = start_worker(topics, tmp_path / "worker.log")
    try:
        report = simulate_to_kafka(
            topics, shoppers=400, duration_s=1800, seed=3, speed=0, malformed_rate=0.05, duplicate_rate=0.03
        )
        produced = sum(report.records_by_kind.values())
        assert report.records_by_kind["malformed"] > 0 and report.records_by_kind["duplicate"] > 0
        wait_until(lambda: committed(topics) >= produced, 120, what=f"{produced} records committed")
        assert committed(topics) == produced
    finally:
        assert worker.stop() == 0
    parts = topics.topics.partitions
    ids = Counter(orjson.loads(m.value())["event_id"] for m in read_all(topics.kafka, topics.topics.events, parts))
    assert set(ids) == set(report.valid_event_ids)
    assert max(ids.values()) == 1
    dead = read_all(topics.kafka, topics.topics.dead_letters, parts)
    reasons = Counter(dead_letter_from_record(m.key(), m.value(), m.headers()).reason for m in dead)
    assert dict(reasons) == report.expected_dead_letters
