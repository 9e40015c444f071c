"""A batch-native, at-least-once consume → process → produce loop on confluent-kafka.

Why not a plain faust agent: faust's per-message path caps one process at ~3–5k events/s on this machine
(docs/architecture.md); this loop amortises everything per batch. Per batch: ``consume(batch_size)`` → handler
(which produces) → ``flush`` → commit the batch's offsets. Offsets are committed only after every produced record
is acknowledged, so a crash replays at most one batch; handlers make that replay idempotent
(:mod:`streams.provenance`). Partitions are handed to the handler on assignment before any record of theirs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from streams.clients import consumer_config, producer_config
from streams.config import KafkaConfig
from streams.errors import DeliveryError
from streams.metrics import CONSUMER_LAG

__all__ = ["BatchHandler", "BatchLoop"]

logger = logging.getLogger(__name__)


class BatchHandler(Protocol):
    """What a stage implements to run on a :class:`BatchLoop`."""

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Take ownership of ``topic[partition]``; consumption resumes at ``committed`` (-1: from the start)."""

    def revoked(self, topic: str, partition: int) -> None:
        """Drop the state of ``topic[partition]`` (its offsets are already committed)."""

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Process one batch (records of several partitions, in offset order per partition)."""


class BatchLoop:
    """Runs a :class:`BatchHandler` over a consumer group until ``stop`` is set."""

    def __init__(
        self,
        kafka: KafkaConfig,
        group_id: str,
        topics: list[str],
        handler: BatchHandler,
        *,
        batch_size: int = 5000,
        poll_timeout_s: float = 0.05,
        flush_timeout_s: float = 30.0,
        on_batch: Callable[[int, float], None] | None = None,
        stage: str = "stage",
        lag_interval_s: float = 1.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._topics = topics
        self._handler = handler
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        self._flush_timeout_s = flush_timeout_s
        self._on_batch = on_batch
        self._stage = stage
        self._on_close = on_close
        self._lag_interval_s = lag_interval_s
        self._lag_due = 0.0
        self._assigned_at: dict[tuple[str, int], int] = {}  # where consumption resumed, per partition
        self._failed: list[str] = []
        self._consumer = Consumer(consumer_config(kafka, group_id))
        self._producer = Producer(
            producer_config(
                kafka,
                **{
                    "enable.idempotence": True,
                    # a failed batch must not leave a gap that later records of the partition jump over
                    "enable.gapless.guarantee": True,
                    "delivery.report.only.error": True,
                    "on_delivery": self._on_delivery,
                },
            )
        )
        self._pending: dict[tuple[str, int], int] = {}  # next offset to commit, per partition
        self._closed = False
        self._delivery_failed = False  # once set, nothing is committed or checkpointed again
        self._assigned = False  # a first assignment (maybe empty: more members than partitions) was handled
        self.batches = 0
        self.records = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failed.append(f"{msg.topic()}[{msg.partition()}]: {err}")

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=30)
        for tp in committed:
            offset = tp.offset if tp.offset != OFFSET_INVALID and tp.offset >= 0 else -1
            self._assigned_at[(tp.topic, tp.partition)] = max(offset, 0)
            logger.info("assigned topic=%s partition=%s committed=%s", tp.topic, tp.partition, offset)
            self._handler.assigned(tp.topic, tp.partition, offset)
        self._assigned = True

    def ready(self) -> bool:
        """Whether the loop joined its group and took over its first assignment (readiness, ``/readyz``)."""
        return self._assigned

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._delivery_failed:
            # The stage is going down after a failed delivery: its state includes the batch whose output was lost,
            # so it must not checkpoint (a restart resumes from the last checkpoint and the committed offsets).
            for tp in partitions:
                logger.warning(
                    "revoked after a failed delivery topic=%s partition=%s (no checkpoint)", tp.topic, tp.partition
                )
                self._assigned_at.pop((tp.topic, tp.partition), None)
            return
        self._deliver_and_commit()
        for tp in partitions:
            logger.info("revoked topic=%s partition=%s", tp.topic, tp.partition)
            self._assigned_at.pop((tp.topic, tp.partition), None)
            self._handler.revoked(tp.topic, tp.partition)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            logger.warning("lost topic=%s partition=%s (not committing)", tp.topic, tp.partition)
            self._pending.pop((tp.topic, tp.partition), None)
            self._handler.revoked(tp.topic, tp.partition)

    def _deliver_and_commit(self) -> None:
        """Wait until every produced record is acknowledged, then commit what the batch consumed."""
        if self._delivery_failed:
            return
        remaining = self._producer.flush(self._flush_timeout_s)
        if remaining or self._failed:
            failures, self._failed = self._failed[:5], []
            self._delivery_failed = True
            self._pending.clear()
            raise DeliveryError(f"{remaining} records unacknowledged, failures: {failures}; offsets not committed")
        if not self._pending:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        self._pending.clear()
        self._consumer.commit(offsets=offsets, asynchronous=False)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then commit and leave the group cleanly."""
        self._consumer.subscribe(
            self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        handler, consumer, pending = self._handler, self._consumer, self._pending
        try:
            while not stop.is_set():
                messages = consumer.consume(self._batch_size, self._poll_timeout_s)
                if not messages:
                    self._producer.poll(0)
                    if time.perf_counter() >= self._lag_due:
                        self._lag_due = time.perf_counter() + self._lag_interval_s
                        self._export_lag()
                    continue
                started = time.perf_counter()
                good: list[Message] = []
                for msg in messages:
                    err = msg.error()
                    if err is None:
                        good.append(msg)
                    elif err.code() != KafkaError._PARTITION_EOF:
                        logger.error("consume error topic=%s partition=%s: %s", msg.topic(), msg.partition(), err)
                        if err.fatal():
                            raise KafkaException(err)
                if not good:
                    continue
                handler.handle(good, self._producer)
                for msg in good:
                    pending[(msg.topic() or "", msg.partition() or 0)] = (msg.offset() or 0) + 1
                self._deliver_and_commit()
                self.batches += 1
                self.records += len(good)
                if self._on_batch is not None:
                    self._on_batch(len(good), time.perf_counter() - started)
                if started >= self._lag_due:
                    self._lag_due = started + self._lag_interval_s
                    self._export_lag()
        finally:
            self.close()

    def _export_lag(self) -> None:
        """Lag = high watermark - position, both from fetch responses (right on Tansu, unlike ListOffsets)."""
        consumer = self._consumer
        for tp in consumer.position(consumer.assignment()):
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            # Nothing consumed yet since the assignment: the position is where consumption resumed.
            position = tp.offset if tp.offset >= 0 else self._assigned_at.get((tp.topic, tp.partition), -1)
            if high >= 0 and position >= 0:
                CONSUMER_LAG.labels(self._stage, tp.topic, str(tp.partition)).set(max(0, high - position))

    def close(self) -> None:
        """Flush, commit and leave the group (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._deliver_and_commit()
        finally:
            self._consumer.close()  # runs the final revoke: handlers checkpoint there
            if self._on_close is not None:
                self._on_close()
