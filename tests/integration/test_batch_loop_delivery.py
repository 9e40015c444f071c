"""A batch whose output is not known to be delivered is never committed, and its stage does not checkpoint."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from kairos.settings import Settings
from streams.batch_loop import BatchLoop
from streams.clients import consumer_config
from streams.errors import DeliveryError
from tests.integration.kafka_io import produce_all


class _Forward:
    """Forwards every record to the output topic; records which partitions it was asked to give up."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.handled = 0
        self.revoked_partitions: list[int] = []

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        pass

    def revoked(self, topic: str, partition: int) -> None:
        self.revoked_partitions.append(partition)

    def handle(self, messages: list[Message], producer: Producer) -> None:
        self.handled += len(messages)
        for msg in messages:
            producer.produce(self.output, msg.value(), key=msg.key())


class _FirstFlushFails:
    """The loop's real producer, except that its first flush reports one record unacknowledged (a lost ack)."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._failed_once = False

    def produce(self, *args: Any, **kwargs: Any) -> None:
        self._producer.produce(*args, **kwargs)

    def poll(self, timeout: float) -> int:
        return self._producer.poll(timeout)

    def flush(self, timeout: float) -> int:
        remaining = self._producer.flush(timeout)
        if not self._failed_once:
            self._failed_once = True
            return remaining + 1
        return remaining


def test_a_failed_delivery_commits_nothing_and_skips_the_checkpoint(topics: Settings) -> None:
    source, output = topics.topics.raw_events, topics.topics.events
    produce_all(topics.kafka, source, [(b"k", b"v-%d" % i) for i in range(20)])
    group = f"{topics.topics.namespace}-delivery"
    handler = _Forward(output)
    loop = BatchLoop(topics.kafka, group, [source], handler, batch_size=50, poll_timeout_s=0.05, flush_timeout_s=10)
    loop._producer = _FirstFlushFails(loop._producer)  # type: ignore[assignment]

    with pytest.raises(DeliveryError):
        loop.run(threading.Event())

    assert handler.handled > 0
    assert handler.revoked_partitions == []  # no revoke callback ran: nothing checkpointed
    probe = Consumer(consumer_config(topics.kafka, group))
    try:
        committed = probe.committed([TopicPartition(source, p) for p in range(topics.topics.partitions)], timeout=10)
    finally:
        probe.close()
    assert all(tp.offset < 0 for tp in committed), committed
