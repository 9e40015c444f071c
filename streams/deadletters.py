"""Reading and re-driving the dead-letter topic.

A dead letter's value is the original record's raw bytes and its key the original key; the reason and the source
coordinates are headers (docs/schemas.md). Re-driving produces the raw bytes back to the topic they came from, with
a ``kairos.redrive.of`` header naming the dead letter, and commits its progress under a consumer group so each dead
letter is re-driven at most once per group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from schemas.deadletter import DeadLetter, dead_letter_from_record
from streams.clients import consumer_config, producer_config
from streams.config import KafkaConfig
from streams.reader import consume_batches

__all__ = ["REDRIVE_HEADER", "RedriveResult", "iter_dead_letters", "redrive"]

logger = logging.getLogger(__name__)

REDRIVE_HEADER = "kairos.redrive.of"


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """What a re-drive did."""

    scanned: int
    redriven: int
    skipped: int


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if meta is None or meta.error is not None:
        raise RuntimeError(f"topic {topic} not found")
    return sorted(meta.partitions)


def _drain(consumer: Consumer, partitions: int, timeout_s: float) -> Iterator[Message]:
    at_end: set[int] = set()
    for batch in consume_batches(consumer, timeout_s):
        for msg in batch:
            err = msg.error()
            if err is None:
                yield msg
            elif err.code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition() or 0)
            else:
                raise RuntimeError(f"reading dead letters failed: {err}")
        if len(at_end) >= partitions:
            return


def iter_dead_letters(
    kafka: KafkaConfig, topic: str, *, timeout_s: float = 10.0
) -> Iterator[tuple[Message, DeadLetter]]:
    """Every dead letter currently in ``topic``, partition by partition, oldest first."""
    consumer = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    try:
        parts = _partitions(consumer, topic)
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        for msg in _drain(consumer, len(parts), timeout_s):
            yield msg, dead_letter_from_record(msg.key(), msg.value(), msg.headers())
    finally:
        consumer.close()


def redrive(
    kafka: KafkaConfig,
    topic: str,
    group_id: str,
    *,
    accept: Callable[[DeadLetter], bool] = lambda _dl: True,
    dry_run: bool = False,
    timeout_s: float = 10.0,
) -> RedriveResult:
    """Re-produce accepted dead letters to their source topics and commit progress under ``group_id``.

    Args:
        accept: which dead letters to re-drive (e.g. by reason); the others are passed over and also committed.
        dry_run: count only; produce and commit nothing.
    """
    consumer = Consumer(consumer_config(kafka, group_id, **{"enable.partition.eof": True}))
    producer = Producer(producer_config(kafka, **{"enable.idempotence": True}))
    scanned = redriven = skipped = 0
    try:
        parts = _partitions(consumer, topic)
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=timeout_s)
        consumer.assign([TopicPartition(topic, tp.partition, max(tp.offset, 0)) for tp in committed])
        positions: dict[int, int] = {}
        for msg in _drain(consumer, len(parts), timeout_s):
            scanned += 1
            letter = dead_letter_from_record(msg.key(), msg.value(), msg.headers())
            positions[msg.partition() or 0] = (msg.offset() or 0) + 1
            if not accept(letter):
                skipped += 1
                continue
            redriven += 1
            if not dry_run:
                origin = f"{topic}/{msg.partition()}/{msg.offset()}".encode()
                producer.produce(
                    letter.source_topic,
                    letter.raw,
                    letter.key,
                    letter.source_partition,
                    headers=[(REDRIVE_HEADER, origin)],
                )
        if not dry_run:
            if producer.flush(30):
                raise RuntimeError("re-driven records were not acknowledged; progress not committed")
            if positions:
                consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in positions.items()], asynchronous=False)
        logger.info("redrive scanned=%s redriven=%s skipped=%s dry_run=%s", scanned, redriven, skipped, dry_run)
        return RedriveResult(scanned, redriven, skipped)
    finally:
        consumer.close()
