"""Reading and re-driving the dead-letter topic.

A dead letter's value is the original record's raw bytes and its key the original key; the reason and the source
coordinates are headers (docs/schemas.md). Re-driving produces the raw bytes back to the topic they came from, with
a ``kairos.redrive.of`` header naming the dead letter — only when that topic is one publishers write (the raw events,
the catalogue): a letter from a derived topic (an attribution or feature-stage letter from ``kairos.events.v1``)
would reach every other consumer of that topic a second time, and a truncated letter no longer holds the record, so
both are refused. Progress is committed per reason, under ``<group>.<reason>``: a re-drive of one reason never
passes over another reason's letters, and each letter is re-driven at most once per group.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from schemas.deadletter import DeadLetter, dead_letter_from_record
from streams.clients import consumer_config, producer_config
from streams.config import KafkaConfig
from streams.follow import PartitionEnds, assign_all, partitions_of
from streams.reader import read_to_end

__all__ = ["REDRIVE_HEADER", "RedriveResult", "iter_dead_letters", "progress_group", "redrive", "refusal"]

logger = logging.getLogger(__name__)

REDRIVE_HEADER = "kairos.redrive.of"


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """What a re-drive did: ``refused`` counts the selected letters that cannot be re-driven, by why."""

    scanned: int
    redriven: int
    skipped: int
    refused: dict[str, int] = field(default_factory=dict)


def progress_group(group_id: str, reason: str) -> str:
    """The consumer group that holds ``reason``'s re-drive progress.

    >>> progress_group("kairos-dlq-redrive", "wrong_type")
    'kairos-dlq-redrive.wrong_type'
    """
    return f"{group_id}.{reason}"


def refusal(letter: DeadLetter, sources: Collection[str]) -> str | None:
    """Why ``letter`` cannot be re-driven (``None``: it can), given the topics publishers write (``sources``).

    >>> from schemas.deadletter import DeadLetter
    >>> letter = DeadLetter(reason="unattributed", detail="d", stage="attribute", error_type="E",
    ...     source_topic="kairos.events.v1", source_partition=0, source_offset=1, dead_lettered_at_ms=0, raw=b"{}")
    >>> refusal(letter, {"kairos.events.raw.v1"})
    'stage attribute: source kairos.events.v1 is a derived topic (re-driving would feed its other consumers again)'
    """
    if letter.truncated:
        return f"stage {letter.stage}: truncated (the whole record is only at its source coordinates)"
    if letter.source_topic not in sources:
        return (
            f"stage {letter.stage}: source {letter.source_topic} is a derived topic "
            "(re-driving would feed its other consumers again)"
        )
    return None


def iter_dead_letters(
    kafka: KafkaConfig, topic: str, *, timeout_s: float = 10.0
) -> Iterator[tuple[Message, DeadLetter]]:
    """Every dead letter currently in ``topic``, partition by partition, oldest first."""
    consumer = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    try:
        ends = PartitionEnds(assign_all(consumer, [topic]))
        for msg in read_to_end(consumer, ends, timeout_s, what="reading dead letters from"):
            yield msg, dead_letter_from_record(msg.key(), msg.value(), msg.headers())
    finally:
        consumer.close()


def redrive(
    kafka: KafkaConfig,
    topic: str,
    group_id: str,
    *,
    sources: Collection[str],
    reason: str | None = None,
    dry_run: bool = False,
    timeout_s: float = 10.0,
    on_scanned: Callable[[int], None] | None = None,
) -> RedriveResult:
    """Re-produce the dead letters of ``reason`` (every reason: ``None``) that ``group_id`` has not re-driven yet.

    Args:
        sources: the topics a letter may be re-driven to (those publishers write); other letters are refused.
        reason: the reason to re-drive; letters of other reasons are passed over and stay pending in their own
            progress groups (:func:`progress_group`).
        dry_run: count only; produce and commit nothing.
        on_scanned: called with 1 for each dead letter scanned (a progress bar's ``update``).

    Returns:
        The counts; refused letters (:func:`refusal`) are counted by why and committed past (they can never be
        re-driven).

    Raises:
        RuntimeError: the broker did not acknowledge the re-driven records (nothing is committed then).
    """
    reader = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    producer = Producer(producer_config(kafka, **{"enable.idempotence": True}))
    done: dict[str, dict[int, int]] = {}  # per reason: each partition's committed re-drive progress
    scanned = redriven = skipped = 0
    refused: Counter[str] = Counter()
    try:
        parts = [tp.partition for tp in partitions_of(reader, [topic])]
        starts = dict.fromkeys(parts, 0)
        if reason is not None:
            starts = done[reason] = _committed(kafka, progress_group(group_id, reason), topic, parts, timeout_s)
        assignment = [TopicPartition(topic, p, o) for p, o in starts.items()]
        reader.assign(assignment)
        ends: dict[int, int] = {}
        for msg in read_to_end(reader, PartitionEnds(assignment), timeout_s, what="reading dead letters from"):
            scanned += 1
            if on_scanned is not None:
                on_scanned(1)
            partition, offset = msg.partition() or 0, msg.offset() or 0
            ends[partition] = offset + 1
            letter = dead_letter_from_record(msg.key(), msg.value(), msg.headers())
            if reason is not None and letter.reason != reason:
                skipped += 1
                continue
            progress = done.get(letter.reason)
            if progress is None:
                progress = done[letter.reason] = _committed(
                    kafka, progress_group(group_id, letter.reason), topic, parts, timeout_s
                )
            if offset < progress[partition]:
                continue  # re-driven (or refused) by an earlier run of this group
            why = refusal(letter, sources)
            if why is not None:
                refused[why] += 1
                continue
            redriven += 1
            if not dry_run:
                origin = f"{topic}/{partition}/{offset}".encode()
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
            for name, progress in done.items():
                moved = {p: o for p, o in ends.items() if o > progress[p]}
                if moved:
                    _commit(kafka, progress_group(group_id, name), topic, moved)
        logger.info(
            "redrive reason=%s scanned=%s redriven=%s skipped=%s refused=%s dry_run=%s",
            reason,
            scanned,
            redriven,
            skipped,
            sum(refused.values()),
            dry_run,
        )
        return RedriveResult(scanned, redriven, skipped, dict(refused))
    finally:
        reader.close()


def _committed(kafka: KafkaConfig, group: str, topic: str, parts: list[int], timeout_s: float) -> dict[int, int]:
    consumer = Consumer(consumer_config(kafka, group))
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=timeout_s)
        return {tp.partition: max(tp.offset, 0) for tp in committed}
    finally:
        consumer.close()


def _commit(kafka: KafkaConfig, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer(consumer_config(kafka, group))
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()
