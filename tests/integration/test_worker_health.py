"""The worker's /healthz and /readyz tell the truth: ready once every stage is assigned and the broker answers;
not ready (but alive) when the broker goes away."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from kairos.processes import start_worker
from kairos.settings import Settings, load_settings
from streams.broker import free_port, start_broker
from streams.config import BrokerConfig
from streams.topics import ensure_topics, topic_specs

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _until(url: str, status: int, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    code, body = _get(url)
    while code != status and time.monotonic() < deadline:
        time.sleep(0.5)
        code, body = _get(url)
    assert code == status, f"{url} answered {code} {body} for {timeout_s}s"
    return body


def test_readiness_follows_the_stages_and_the_broker(tmp_path: Path) -> None:
    broker = start_broker(BrokerConfig(port=free_port()), log_path=tmp_path / "tansu.log")
    worker = None
    try:
        namespace = f"h{uuid.uuid4().hex[:10]}"
        settings: Settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": namespace, "partitions": 2},
            ingest={"group_id": f"{namespace}-ingest"},
            worker={"web_port": free_port(), "data_dir": str(tmp_path / "var")},
        )
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        worker = start_worker(settings, tmp_path / "worker.log")
        base = f"http://{settings.worker.web_host}:{settings.worker.web_port}"

        ready = _until(f"{base}/readyz", 200, timeout_s=90)
        stages = ready["stages"]
        assert isinstance(stages, dict)
        assert {"validate_events", "compute_features", "follow_catalogue"} <= set(stages)
        assert all(s == {"state": "running", "ready": True} for s in stages.values()), stages
        code, live = _get(f"{base}/healthz")
        assert code == 200 and live["status"] == "ok"

        broker.stop()
        waiting = _until(f"{base}/readyz", 503, timeout_s=30)["waiting"]
        assert isinstance(waiting, dict) and "broker" in waiting
        code, live = _get(f"{base}/healthz")
        assert code == 200, "the stages are alive; librdkafka reconnects when the broker is back"
    finally:
        if worker is not None:
            worker.kill()
        broker.stop()
