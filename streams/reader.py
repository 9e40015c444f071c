"""Bounded reads of one partition range with a group-less consumer (state rebuilds, DLQ listing, tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import Consumer, Message, TopicPartition

from streams.clients import consumer_config
from streams.config import KafkaConfig
from streams.follow import PartitionEnds

__all__ = ["committed_total", "consume_batches", "read_range", "read_to_end", "read_topic", "watermarks"]

# consume(n, timeout) waits for n records or the timeout, whichever is first, even past the partition's end:
# poll in short slices and give up only after ``timeout_s`` without any record or event.
_SLICE_S = 0.1


def consume_batches(consumer: Consumer, timeout_s: float) -> Iterator[list[Message]]:
    """Yield non-empty batches (records and events such as partition EOF) until the caller stops iterating.

    Raises:
        TimeoutError: nothing arrived for ``timeout_s``.
    """
    idle_since = time.monotonic()
    while True:
        batch = consumer.consume(10_000, _SLICE_S)
        if batch:
            idle_since = time.monotonic()
            yield batch
        elif time.monotonic() - idle_since > timeout_s:
            raise TimeoutError(f"no records or events for {timeout_s}s from {consumer.assignment()}")


def read_to_end(consumer: Consumer, ends: PartitionEnds, timeout_s: float, *, what: str) -> Iterator[Message]:
    """Yield the records ``consumer`` reads until every partition of ``ends`` has reached its end.

    Args:
        consumer: assigned (:func:`~streams.follow.assign_all`), with ``enable.partition.eof`` set.
        ends: the assigned partitions; stops at once when the last one reaches its end.
        timeout_s: see :func:`consume_batches`.
        what: names the read in errors (``"<what> <topic>[<partition>] failed: ..."``).

    Raises:
        RuntimeError: the consumer reported an error other than end-of-partition.
        TimeoutError: nothing arrived for ``timeout_s``.
    """
    if ends.caught_up:
        return
    for batch in consume_batches(consumer, timeout_s):
        for msg in batch:
            if ends.note(msg):
                if ends.caught_up:
                    return
                continue
            err = msg.error()
            if err is not None:
                raise RuntimeError(f"{what} {msg.topic()}[{msg.partition()}] failed: {err}")
            yield msg


def watermarks(kafka: KafkaConfig, topic: str, partition: int, timeout_s: float = 10.0) -> tuple[int, int]:
    """(low, high) offsets by ListOffsets. On Tansu ``high`` can be short by up to one batch (docs/broker.md)."""
    consumer = Consumer(consumer_config(kafka, None))
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
        return int(low), int(high)
    finally:
        consumer.close()


def read_range(
    kafka: KafkaConfig,
    topic: str,
    partition: int,
    start: int,
    end: int | None = None,
    *,
    timeout_s: float = 10.0,
) -> Iterator[Message]:
    """Yield the records of ``topic[partition]`` with ``start <= offset < end`` (``end=None``: to the end).

    The end of the partition is detected by a partition-EOF event, i.e. the fetch high watermark, which is
    correct on Tansu too.
    """
    if end is not None and end <= start:
        return
    consumer = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        for msg in read_to_end(consumer, PartitionEnds([TopicPartition(topic, partition)]), timeout_s, what="reading"):
            offset = msg.offset()
            if offset is None or offset < start:
                continue
            if end is not None and offset >= end:
                return
            yield msg
            if end is not None and offset + 1 >= end:
                return
    finally:
        consumer.close()


def read_topic(kafka: KafkaConfig, topic: str, partitions: int, *, timeout_s: float = 10.0) -> list[Message]:
    """Every record of ``topic``, partition by partition (tooling and tests; not for hot paths)."""
    out: list[Message] = []
    for partition in range(partitions):
        low, _ = watermarks(kafka, topic, partition, timeout_s)
        out.extend(read_range(kafka, topic, partition, low, timeout_s=timeout_s))
    return out


def committed_total(kafka: KafkaConfig, group_id: str, topic: str, partitions: int) -> int:
    """The sum of ``group_id``'s committed offsets over ``topic``'s partitions: how many records it has done."""
    consumer = Consumer(consumer_config(kafka, group_id))
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()
