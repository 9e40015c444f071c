"""``kairos forget``: publish a shopper's erasure record and wait for the feature stage to act on it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from kairos.settings import Settings
from streams.clients import consumer_config, producer_config
from streams.errors import DeliveryError
from streams.pseudonym import ERASE_HEADER, kafka_partition, pseudonymise

__all__ = ["ForgetResult", "forget_user"]


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """Where the erasure record went and whether the feature stage has passed it."""

    user_key: str
    """The key the stages hold the shopper under (the pseudonym when ``privacy.pseudonymise`` is on)."""
    partition: int
    offset: int
    erased: bool
    """The feature stage's group committed past the record: state, guards, hot row and Feast rows are gone."""


def forget_user(settings: Settings, user_id: str, *, wait_s: float = 60.0, poll_s: float = 0.5) -> ForgetResult:
    """Publish the erasure record of ``user_id`` (as the publisher sent it) and wait up to ``wait_s`` for the
    feature stage (group ``<namespace>-features``) to commit past it.

    The record goes to the events topic, keyed by the id's pseudonym, on the partition the publisher's key
    ``user_id`` hashes to (where ingest put the shopper's events). A worker that is not running acts on it when it
    next reads that partition: ``erased`` is then ``False`` and the record still waits in the topic.

    Raises:
        SettingsError: pseudonymisation is on without a usable key.
        DeliveryError: the broker did not acknowledge the record.
    """
    secret = settings.privacy.load_key()
    user_key = pseudonymise(user_id, secret) if secret is not None else user_id
    topics = settings.topics
    partition = kafka_partition(user_id.encode(), topics.partitions)
    delivered: list[Message] = []
    producer = Producer(producer_config(settings.kafka))
    producer.produce(
        topics.events,
        None,
        user_key.encode(),
        partition,
        headers=[(ERASE_HEADER, b"1")],
        on_delivery=lambda err, msg: delivered.append(msg) if err is None else None,
    )
    if producer.flush(30) != 0 or not delivered:
        raise DeliveryError(f"the erasure record to {topics.events}[{partition}] was not acknowledged")
    offset = delivered[0].offset() or 0
    group = f"{topics.namespace}-features"
    deadline = time.monotonic() + wait_s
    erased = _committed(settings, group, topics.events, partition) > offset
    while not erased and time.monotonic() < deadline:
        time.sleep(poll_s)
        erased = _committed(settings, group, topics.events, partition) > offset
    return ForgetResult(user_key, partition, offset, erased)


def _committed(settings: Settings, group: str, topic: str, partition: int) -> int:
    consumer = Consumer(consumer_config(settings.kafka, group))
    try:
        (tp,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return tp.offset if tp.error is None or tp.error.code() == KafkaError.NO_ERROR else -1
    finally:
        consumer.close()
