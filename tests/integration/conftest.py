"""Integration fixtures: the real Tansu broker on a free 127.0.0.1 port, one isolated namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kairos.settings import Settings, load_settings
from streams.broker import BrokerProcess, free_port, start_broker
from streams.config import BrokerConfig
from streams.topics import ensure_topics, topic_specs


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """One broker for the session. A missing broker binary fails the run; it never skips."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    process = start_broker(BrokerConfig(port=free_port()), log_path=log)
    yield process
    process.stop()


@pytest.fixture
def settings(broker: BrokerProcess, tmp_path: Path) -> Settings:
    """Settings pointing at the session broker, with a namespace (topics, groups) of this test's own."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    return load_settings(
        {},
        kafka={"bootstrap": broker.bootstrap},
        topics={"namespace": namespace, "partitions": 4},
        ingest={"group_id": f"{namespace}-ingest", "batch_size": 500},
        worker={"web_port": free_port(), "data_dir": str(tmp_path / "var")},
    )


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """``settings`` with its topics created."""
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    return settings
