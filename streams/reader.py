"""Bounded reads of one partition range with a group-less consumer (state rebuilds, DLQ listing, tests)."""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from streams.clients import consumer_config
from streams.config import KafkaConfig

__all__ = ["read_range", "watermarks"]


def watermarks(kafka: KafkaConfig, topic: str, partition: int, timeout_s: float = 10.0) -> tuple[int, int]:
    """(low, high) offsets by ListOffsets. On Tansu ``high`` can be short by up to one batch (docs/broker.md)."""
    consumer = Consumer(consumer_config(kafka, None))
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
        return int(low), int(high)
    finally:
        consumer.close()


def read_range(
    kafka: KafkaConfig, topic: str, partition: int, start: int, end: int | None = None, timeout_s: float = 10.0
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
        while True:
            batch = consumer.consume(10_000, timeout_s)
            if not batch:
                raise TimeoutError(f"reading {topic}[{partition}] from {start}: no data in {timeout_s}s")
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        return
                    raise RuntimeError(f"reading {topic}[{partition}] failed: {err}")
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
