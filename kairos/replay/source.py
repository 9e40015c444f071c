"""What a replay reads: a slice of the raw event log (and the catalogue) from an archive or from Kafka.

Time bounds select by record timestamp (the publisher's create time; the simulator stamps each record with its
event time). From an archive, segments outside the range are skipped and rows filtered while reading. From Kafka,
each partition starts at ``offsets_for_times`` of the lower bound (the timestamp index on Apache Kafka; the
embedded Tansu answers 0, so there the read starts at the beginning) and records are filtered while reading, which
is right on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from kairos.settings import SettingsError
from streams.archive import ArchivedRecord, RecordRange, check_archive, iter_partition, open_archive
from streams.archive.sink import archived_headers
from streams.clients import consumer_config
from streams.config import KafkaConfig
from streams.reader import read_range

__all__ = ["SliceSource", "archive_source", "kafka_source", "parse_range"]


def _bound(text: str | None) -> tuple[int | None, int | None]:
    """``(offset, ms)`` of one bound: an integer is an offset, anything else an ISO-8601 time (UTC if naive)."""
    if text is None:
        return None, None
    if text.strip().isdigit():
        return int(text), None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SettingsError(f"{text!r} is neither an offset nor an ISO-8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return None, int(moment.timestamp() * 1000)


def parse_range(start: str | None, until: str | None) -> RecordRange:
    """``--from``/``--until`` as a :class:`RecordRange` (offsets apply to every partition).

    >>> parse_range("2026-01-01T00:00:00Z", "2026-01-02")
    RecordRange(from_offset=None, until_offset=None, from_ms=1767225600000, until_ms=1767312000000)
    >>> parse_range("100", None).from_offset
    100

    Raises:
        SettingsError: a bound is neither.
    """
    from_offset, from_ms = _bound(start)
    until_offset, until_ms = _bound(until)
    return RecordRange(from_offset, until_offset, from_ms, until_ms)


class SliceSource:
    """Iterators over one topic's selected records, one per partition, in offset order."""

    def __init__(self, describe: str, partitions: dict[int, Iterator[ArchivedRecord]]) -> None:
        self.describe = describe
        self.partitions = partitions


def archive_source(root: Path, topic: str, partitions: int, selection: RecordRange) -> SliceSource:
    """The archived records of ``topic`` in ``selection``.

    Raises:
        ArchiveError: ``root`` is not an archive.
        ArchiveFileError: a segment of ``topic`` is missing, truncated, not Parquet or newer (the file is named).
        SettingsError: the archive has partitions beyond ``partitions``.
    """
    manifest = open_archive(root)
    check_archive(root, manifest, [topic])  # every segment, before the replay writes anything
    archived = manifest.topics().get(topic, [])
    if archived and max(archived) >= partitions:
        raise SettingsError(f"{root}: {topic} has partition {max(archived)}; the replay has {partitions} partitions")
    return SliceSource(
        f"archive {root} {topic}",
        {p: iter_partition(root, manifest, topic, p, selection) for p in range(partitions)},
    )


def _kafka_partition(
    kafka: KafkaConfig, topic: str, partition: int, selection: RecordRange
) -> Iterator[ArchivedRecord]:
    start = selection.from_offset or 0
    if selection.from_ms is not None:
        consumer = Consumer(consumer_config(kafka, None))
        try:
            [found] = consumer.offsets_for_times([TopicPartition(topic, partition, selection.from_ms)], timeout=10)
            start = max(start, found.offset) if found.offset >= 0 else start
        finally:
            consumer.close()
    end = selection.until_offset
    for msg in read_range(kafka, topic, partition, start, end):
        ts_type, ts = msg.timestamp()
        stamp = ts if ts_type else None
        offset = msg.offset() or 0
        if selection.admits(offset, stamp):
            yield ArchivedRecord(
                topic, partition, offset, stamp, msg.key(), archived_headers(msg.headers()), msg.value()
            )


def kafka_source(kafka: KafkaConfig, topic: str, partitions: int, selection: RecordRange) -> SliceSource:
    """The records of ``topic`` in ``selection``, read from the broker (read only, no consumer group)."""
    return SliceSource(
        f"kafka {kafka.bootstrap} {topic}",
        {p: _kafka_partition(kafka, topic, p, selection) for p in range(partitions)},
    )
