"""Where an output record came from, carried in a header, and how a restart finds what was already emitted.

Every record a stage emits carries ``kairos.src = b"<topic>/<partition>/<offset>"`` of its input. Outputs keep
the input's partition number, so after a crash the stage re-reads the tail of its output partitions and skips the
input records whose results are already there: idempotent processing without broker transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

from confluent_kafka import Consumer, TopicPartition

from streams.clients import consumer_config
from streams.config import KafkaConfig
from streams.follow import PartitionEnds
from streams.reader import read_to_end

__all__ = ["SOURCE_HEADER", "last_emitted_offset", "parse_source", "source_header"]

logger = logging.getLogger(__name__)

SOURCE_HEADER = "kairos.src"


def source_header(topic: str, partition: int, offset: int) -> tuple[str, bytes]:
    """The provenance header for a record derived from ``topic[partition]@offset``.

    >>> source_header("kairos.events.raw.v1", 3, 42)
    ('kairos.src', b'kairos.events.raw.v1/3/42')
    """
    return SOURCE_HEADER, f"{topic}/{partition}/{offset}".encode()


def parse_source(value: bytes) -> tuple[str, int, int]:
    """Inverse of :func:`source_header`'s value.

    >>> parse_source(b"kairos.events.raw.v1/3/42")
    ('kairos.events.raw.v1', 3, 42)
    """
    topic, partition, offset = value.decode().rsplit("/", 2)
    return topic, int(partition), int(offset)


def last_emitted_offset(
    kafka: KafkaConfig,
    outputs: Iterable[str],
    partition: int,
    source_topic: str,
    *,
    tail: int,
    timeout_s: float = 10.0,
) -> dict[str, int]:
    """Per output topic, the largest offset of ``source_topic[partition]`` already reflected in it (-1: none).

    Per topic, not across topics: one producer keeps order within each output partition (idempotent, gapless),
    but not between two of them, so a later record may be acknowledged in one topic while an earlier one is still
    queued for another.

    Reads the last ``tail`` records of partition ``partition`` of each output topic. ``tail`` must exceed the
    records a stage can emit between two commits plus one producer batch: the end offset comes from ListOffsets,
    which Tansu under-reports by up to one batch (docs/broker.md); reading stops at the fetch high watermark,
    which is right on both Tansu and Kafka.
    """
    consumer = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    try:
        best = dict.fromkeys(outputs, -1)
        assignment = []
        for topic in best:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high > low:
                assignment.append(TopicPartition(topic, partition, max(low, high - tail)))
        if not assignment:
            return best
        consumer.assign(assignment)
        prefix = f"{source_topic}/{partition}/".encode()
        for msg in read_to_end(consumer, PartitionEnds(assignment), timeout_s, what="recovery scan of"):
            topic = msg.topic() or ""
            for name, value in cast("list[tuple[str, bytes | None]]", msg.headers() or []):
                if name == SOURCE_HEADER and value is not None and value.startswith(prefix):
                    best[topic] = max(best[topic], int(value[len(prefix) :]))
        return best
    finally:
        consumer.close()
