"""The real worker process: a SIGKILL mid-stream and a restart lose nothing and duplicate nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kairos.processes import start_worker
from kairos.settings import Settings, load_settings, settings_to_env
from streams.reader import committed_total
from tests.integration.kafka_io import produce_all
from tests.integration.records import make_mix
from tests.integration.test_ingest import assert_outputs_exact
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.integration


def committed(settings: Settings) -> int:
    topics = settings.topics
    return committed_total(settings.kafka, settings.ingest.group_id, topics.raw_events, topics.partitions)


def test_worker_killed_mid_stream_and_restarted_is_exact(topics: Settings, tmp_path: Path) -> None:
    settings = load_settings(settings_to_env(topics), ingest={"batch_size": 100})
    mix = make_mix(12_000, seed=5, now=datetime.now(UTC))
    produce_all(settings.kafka, settings.topics.raw_events, mix.records)
    n = len(mix.records)

    first = start_worker(settings, tmp_path / "worker-1.log")
    try:  # kill at the first commit seen: polled often, so the stream is still under way
        progress = wait_until(lambda: committed(settings), 60, interval_s=0.05, what="the first worker's commits")
    finally:
        first.kill()  # a crash: no flush, no commit, no leave-group
    assert progress < n, "the kill came too late to interrupt the stream; lower the batch size"

    second = start_worker(settings, tmp_path / "worker-2.log")
    caught_up = ["0.0"] * settings.topics.partitions

    def metrics_once_caught_up() -> str | None:  # the lag gauge refreshes once a second, also when idle
        metrics = second.metrics()
        return metrics if _lag(metrics) == caught_up else None

    try:
        wait_until(lambda: committed(settings) >= n, 120, what=f"{n} records committed")
        metrics = wait_until(metrics_once_caught_up, 15, interval_s=0.5, what="every partition's lag 0")
    finally:
        assert second.stop() == 0
    assert committed(settings) == n
    assert_outputs_exact(settings, mix)
    assert 'kairos_dead_letters_total{reason="oversize",stage="ingest"}' in metrics


def _lag(metrics: str) -> list[str]:
    return re.findall(r'kairos_consumer_lag\{partition="\d",stage="validate_events",topic="[^"]+"\} (\S+)', metrics)
