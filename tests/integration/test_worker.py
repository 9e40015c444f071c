"""The real worker process: a SIGKILL mid-stream and a restart lose nothing and duplicate nothing."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kairos.processes import start_worker
from kairos.settings import Settings, load_settings, settings_to_env
from streams.reader import committed_total
from tests.integration.kafka_io import produce_all
from tests.integration.records import make_mix
from tests.integration.test_ingest import assert_outputs_exact

pytestmark = pytest.mark.integration


def committed(settings: Settings) -> int:
    topics = settings.topics
    return committed_total(settings.kafka, settings.ingest.group_id, topics.raw_events, topics.partitions)


def wait_committed(settings: Settings, at_least: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    total = committed(settings)
    while total < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        total = committed(settings)
    return total


def test_worker_killed_mid_stream_and_restarted_is_exact(topics: Settings, tmp_path: Path) -> None:
    settings = load_settings(settings_to_env(topics), ingest={"batch_size": 100})
    mix = make_mix(12_000, seed=5, now=datetime.now(UTC))
    produce_all(settings.kafka, settings.topics.raw_events, mix.records)
    n = len(mix.records)

    first = start_worker(settings, tmp_path / "worker-1.log")
    try:
        progress = wait_committed(settings, 1, timeout_s=60)
        assert progress > 0, "the first worker never committed"
    finally:
        first.kill()  # a crash: no flush, no commit, no leave-group
    assert progress < n, "the kill came too late to interrupt the stream; lower the batch size"

    second = start_worker(settings, tmp_path / "worker-2.log")
    try:
        assert wait_committed(settings, n, timeout_s=120) == n
        metrics = second.metrics()
        deadline = time.monotonic() + 15  # the lag gauge refreshes once a second, also when idle
        while _lag(metrics) != ["0.0"] * settings.topics.partitions and time.monotonic() < deadline:
            time.sleep(0.5)
            metrics = second.metrics()
    finally:
        assert second.stop() == 0
    assert_outputs_exact(settings, mix)
    assert 'kairos_dead_letters_total{reason="oversize",stage="ingest"}' in metrics
    assert _lag(metrics) == ["0.0"] * settings.topics.partitions, "caught up: every partition's lag is 0"


def _lag(metrics: str) -> list[str]:
    return re.findall(r'kairos_consumer_lag\{partition="\d",stage="validate_events",topic="[^"]+"\} (\S+)', metrics)
