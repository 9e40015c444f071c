"""Small I/O helpers for integration tests: produce raw records, read whole topics."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Message, Producer

from streams.clients import producer_config
from streams.config import KafkaConfig
from streams.reader import read_topic


def produce_all(kafka: KafkaConfig, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Produce ``(key, value)`` records (partitioned by key, murmur2); returns how many."""
    producer = Producer(producer_config(kafka))
    n = 0
    for key, value in records:
        producer.produce(topic, value, key)
        n += 1
        if n % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return n


def read_all(kafka: KafkaConfig, topic: str, partitions: int) -> list[Message]:
    """Every record of ``topic``, partition by partition."""
    return read_topic(kafka, topic, partitions)
