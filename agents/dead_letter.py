"""Sending one bad record to the dead-letter topic: raw bytes and key kept, reason and coordinates in headers."""

from __future__ import annotations

from confluent_kafka import Message, Producer

from schemas.deadletter import dead_letter_for, dead_letter_headers
from schemas.errors import PoisonMessageError
from streams.metrics import DEAD_LETTERS
from streams.provenance import source_header

__all__ = ["send_dead_letter", "send_dead_letter_of"]


def send_dead_letter(
    producer: Producer, msg: Message, error: PoisonMessageError, *, stage: str, topic: str, now_s: float
) -> None:
    """Produce ``msg`` to the dead-letter ``topic`` (same partition) with ``error``'s reason; count it."""
    ts_type, ts = msg.timestamp()
    send_dead_letter_of(
        producer,
        error,
        raw=msg.value(),
        key=msg.key(),
        source_topic=msg.topic() or "",
        source_partition=msg.partition() or 0,
        source_offset=msg.offset() or 0,
        source_timestamp_ms=ts if ts_type else None,
        stage=stage,
        topic=topic,
        now_s=now_s,
    )


def send_dead_letter_of(
    producer: Producer,
    error: PoisonMessageError,
    *,
    raw: bytes | None,
    key: bytes | None,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    source_timestamp_ms: int | None,
    stage: str,
    topic: str,
    now_s: float,
) -> None:
    """:func:`send_dead_letter` for a record known by its bytes and coordinates (a stage that held it)."""
    letter = dead_letter_for(
        error,
        raw=raw,
        key=key,
        stage=stage,
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        source_timestamp_ms=source_timestamp_ms,
        dead_lettered_at_ms=int(now_s * 1000),
    )
    headers: list[tuple[str, str | bytes | None]] = [
        *dead_letter_headers(letter),
        source_header(source_topic, source_partition, source_offset),
    ]
    producer.produce(topic, raw, key, source_partition, headers=headers)
    DEAD_LETTERS.labels(stage, letter.reason).inc()
