"""Kafka adapters for the runner: a record sink (confluent-kafka Producer) and a decision source (Consumer).

Both are thin: the runner talks to them through the :class:`RecordSink` and :class:`DecisionSource`
protocols, so tests drive it with in-memory fakes. Broker quirks (Tansu, docs/simulator.md) are handled here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from simulator.errors import TopicMissingError

__all__ = ["DecisionSource", "KafkaDecisionSource", "KafkaRecordSink", "RecordSink"]

logger = logging.getLogger(__name__)


class RecordSink(Protocol):
    """Where the runner sends records."""

    def produce(self, topic: str, key: bytes, value: bytes, timestamp_ms: int) -> None:
        """Queue one record."""

    def poll(self) -> None:
        """Serve delivery callbacks without blocking."""

    def flush(self, timeout_s: float) -> int:
        """Wait for queued records; returns how many are still undelivered."""

    @property
    def delivered(self) -> int:
        """Records acknowledged by the broker."""

    @property
    def failed_event_ids(self) -> list[str]:
        """Event ids (when readable) of records the broker refused."""


class DecisionSource(Protocol):
    """Where the runner reads decisions from."""

    def start(self) -> int:
        """Position after every decision already in the topic; returns how many were skipped."""

    def poll(self, timeout_s: float) -> list[bytes]:
        """Decision payloads that arrived (possibly none)."""

    def close(self) -> None:
        """Release the connection."""


class KafkaRecordSink:
    """A confluent-kafka producer: murmur2 partitioning by key (as every Kairos producer), lz4, ~5 ms linger.

    Args:
        bootstrap: broker address.
        overrides: extra librdkafka settings (win over the defaults).
    """

    def __init__(self, bootstrap: str, overrides: Mapping[str, Any] | None = None) -> None:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "client.id": "kairos-simulator",
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            "partitioner": "murmur2_random",
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 512 * 1024,
            "message.max.bytes": 1_000_000,
        }
        conf.update(overrides or {})
        self._producer = Producer(conf)
        self._delivered = 0
        self._failed: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self._delivered += 1
            return
        event_id = _event_id(msg.value())
        logger.warning("delivery failed topic=%s event_id=%s error=%s", msg.topic(), event_id, err)
        self._failed.append(event_id or "?")

    def produce(self, topic: str, key: bytes, value: bytes, timestamp_ms: int) -> None:
        """Queue one record, waiting for queue space when the local buffer is full."""
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._on_delivery, timestamp=timestamp_ms)
                return
            except BufferError:
                self._producer.poll(0.05)

    def poll(self) -> None:
        """Serve delivery callbacks."""
        self._producer.poll(0)

    def flush(self, timeout_s: float) -> int:
        """Wait for every queued record; returns the number still queued."""
        return int(self._producer.flush(timeout_s))

    @property
    def delivered(self) -> int:
        """Records acknowledged so far."""
        return self._delivered

    @property
    def failed_event_ids(self) -> list[str]:
        """Event ids of refused records."""
        return list(self._failed)


class KafkaDecisionSource:
    """A group-less consumer assigned every partition of the interventions topic.

    Tansu's ListOffsets(latest) is wrong when the last batch holds more than one record, so "start at the end"
    cannot trust end offsets. :meth:`start` reads from the beginning to end-of-partition instead (Fetch's high
    watermark is right) and discards what it read; the simulation also ignores decisions for sessions it does
    not know. These are the steps of the engine's ``streams/follow.py``, kept here because the simulator is a
    client that imports only ``schemas`` (an import contract).

    Args:
        bootstrap: broker address.
        topic: the interventions topic (must exist).
        overrides: extra librdkafka settings.
        drain_timeout_s: give up draining old decisions after this long (then start anyway).
        metadata_timeout_s: how long to wait for the topic's metadata.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        overrides: Mapping[str, Any] | None = None,
        drain_timeout_s: float = 30.0,
        metadata_timeout_s: float = 10.0,
    ) -> None:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "client.id": "kairos-simulator",
            "group.id": "kairos-simulator-reader",  # required by librdkafka; never committed to
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 20,
        }
        conf.update(overrides or {})
        self._consumer = Consumer(conf)
        self._topic = topic
        self._drain_timeout_s = drain_timeout_s
        metadata = self._consumer.list_topics(topic, timeout=metadata_timeout_s)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None or not info.partitions:
            self._consumer.close()
            raise TopicMissingError(f"topic {topic!r} does not exist; create it before running the simulator")
        self._partitions = sorted(info.partitions)

    def start(self) -> int:
        """Assign all partitions from the beginning and skip to end-of-partition on each."""
        self._consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in self._partitions])
        pending, skipped = set(self._partitions), 0
        deadline = time.monotonic() + self._drain_timeout_s
        while pending and time.monotonic() < deadline:
            for msg in self._consumer.consume(num_messages=10_000, timeout=0.2):
                err = msg.error()
                if err is None:
                    skipped += 1
                elif err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
        if pending:
            logger.warning("decision drain timed out topic=%s partitions_pending=%s", self._topic, sorted(pending))
        return skipped

    def poll(self, timeout_s: float) -> list[bytes]:
        """Payloads of the decisions that arrived (errors other than end-of-partition are logged)."""
        out: list[bytes] = []
        for msg in self._consumer.consume(num_messages=5_000, timeout=timeout_s):
            err = msg.error()
            if err is None:
                value = msg.value()
                if value is not None:
                    out.append(value)
            elif err.code() != KafkaError._PARTITION_EOF:
                logger.warning("consume error topic=%s error=%s", self._topic, err)
        return out

    def close(self) -> None:
        """Close the consumer."""
        try:
            self._consumer.close()
        except KafkaException as exc:  # closing twice or after a broker loss
            logger.debug("consumer close failed: %s", exc)


def _event_id(value: bytes | None) -> str | None:
    if not value:
        return None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    event_id = obj.get("event_id") if isinstance(obj, dict) else None
    return event_id if isinstance(event_id, str) else None
