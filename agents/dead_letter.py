"""Sending one bad record to the dead-letter topic: raw bytes and key kept, reason and coordinates in headers."""

from __future__ import annotations

from confluent_kafka import Message, Producer

from schemas.deadletter import dead_letter_for, dead_letter_headers
from schemas.errors import PoisonMessageError
from streams.metrics import DEAD_LETTERS
from streams.provenance import source_header

__all__ = ["send_dead_letter"]


def send_dead_letter(
    producer: Producer, msg: Message, error: PoisonMessageError, *, stage: str, topic: str, now_s: float
) -> None:
    """Produce ``msg`` to the dead-letter ``topic`` (same partition) with ``error``'s reason; count it."""
    source = msg.topic() or ""
    partition = msg.partition() or 0
    offset = msg.offset() or 0
    ts_type, ts = msg.timestamp()
    letter = dead_letter_for(
        error,
        raw=msg.value(),
        key=msg.key(),
        stage=stage,
        source_topic=source,
        source_partition=partition,
        source_offset=offset,
        source_timestamp_ms=ts if ts_type else None,
        dead_lettered_at_ms=int(now_s * 1000),
    )
    headers: list[tuple[str, str | bytes | None]] = [
        *dead_letter_headers(letter),
        source_header(source, partition, offset),
    ]
    producer.produce(topic, msg.value(), msg.key(), partition, headers=headers)
    DEAD_LETTERS.labels(stage, letter.reason).inc()
