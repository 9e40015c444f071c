"""confluent-kafka client configurations, built from :class:`KafkaConfig` in one place."""

from __future__ import annotations

from typing import Any

from streams.config import KafkaConfig

__all__ = ["admin_config", "consumer_config", "producer_config"]


def admin_config(kafka: KafkaConfig) -> dict[str, Any]:
    """AdminClient settings."""
    return {"bootstrap.servers": kafka.bootstrap, "client.id": f"{kafka.client_id}-admin"}


def producer_config(kafka: KafkaConfig, **extra: Any) -> dict[str, Any]:
    """A throughput-oriented, at-least-once producer: acks from all replicas, batched, compressed."""
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap,
        "client.id": f"{kafka.client_id}-producer",
        "acks": "all",
        "linger.ms": kafka.linger_ms,
        "compression.type": kafka.compression,
        "partitioner": kafka.partitioner,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 512 * 1024,
    }
    conf.update(extra)
    return conf


def consumer_config(kafka: KafkaConfig, group_id: str | None, **extra: Any) -> dict[str, Any]:
    """A manually committing consumer; ``group_id=None`` gives a group-less reader for ``assign()`` use."""
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap,
        "client.id": f"{kafka.client_id}-consumer",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": kafka.session_timeout_ms,
        "heartbeat.interval.ms": kafka.heartbeat_interval_ms,
        "fetch.wait.max.ms": kafka.fetch_wait_max_ms,
        "queued.max.messages.kbytes": 256 * 1024,
    }
    if group_id is None:
        conf["group.id"] = f"{kafka.client_id}-reader"  # required by librdkafka; never committed to
    else:
        conf["group.id"] = group_id
    conf.update(extra)
    return conf
