"""Sinks Kafka topics into an archive, resumably: each partition continues where the manifest says it ended.

One group-less consumer reads every partition of the chosen topics from the manifest's ``next_offset`` to the end
(found by partition EOF, i.e. the fetch high watermark, which is right on Tansu too); finished segments are listed
in the manifest as they are written, so a crash loses at most the unfinished segments, which are re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.archive.errors import ArchiveError
from streams.archive.format import ArchivedRecord, Header
from streams.archive.manifest import load_manifest, remove_orphans, save_manifest
from streams.archive.writer import ArchiveWriter, WriterLimits
from streams.clients import admin_config, consumer_config
from streams.config import KafkaConfig
from streams.follow import PartitionEnds

__all__ = ["ArchiveResult", "archive_topics", "archived_headers", "topic_partitions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What one run added: records per topic, and the partitions it started from (``topic/p`` to offset)."""

    records: dict[str, int]
    resumed_from: dict[str, int]


def archived_headers(headers: object) -> tuple[Header, ...]:
    """A record's headers as archived: ``(name, bytes | None)`` pairs, in order."""
    if not isinstance(headers, list):
        return ()
    return tuple((str(k), v.encode() if isinstance(v, str) else v) for k, v in headers)


def topic_partitions(kafka: KafkaConfig, topics: list[str], timeout_s: float = 10.0) -> dict[str, int]:
    """Partition counts of ``topics`` from the broker's metadata.

    Raises:
        ArchiveError: a topic does not exist.
    """
    metadata = AdminClient(admin_config(kafka)).list_topics(timeout=timeout_s)
    out = {}
    for topic in topics:
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise ArchiveError(f"topic {topic} does not exist on {kafka.bootstrap}")
        out[topic] = len(meta.partitions)
    return out


def archive_topics(
    kafka: KafkaConfig,
    root: Path,
    topics: list[str],
    *,
    limits: WriterLimits | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
    timeout_s: float = 10.0,
) -> ArchiveResult:
    """Archive every record of ``topics`` not archived yet, up to the current end of each partition.

    Args:
        kafka: the broker (only read from).
        root: the archive directory.
        topics: topic names.
        limits: row-group and segment sizes.
        progress: called with the number of records of each consumed batch.
        batch_size: records per consume call.
        timeout_s: give up when the broker sends nothing for this long.

    Raises:
        ArchiveError: a topic is missing, or the broker stopped answering.
    """
    counts = topic_partitions(kafka, topics)
    root.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(root)
    for path in remove_orphans(root, manifest):
        logger.warning("archive removed an unfinished file %s", path)
    starts = {(t, p): manifest.log(t, p).next_offset for t, n in counts.items() for p in range(n)}
    save_manifest(root, manifest)
    writer = ArchiveWriter(root, manifest, limits)
    consumer = Consumer(consumer_config(kafka, None, **{"enable.partition.eof": True}))
    records = dict.fromkeys(topics, 0)
    try:
        assignment = [TopicPartition(t, p, o) for (t, p), o in starts.items()]
        consumer.assign(assignment)
        ends = PartitionEnds(assignment, reopen=True)  # the end of every partition at once
        idle = 0.0
        while not ends.caught_up:
            messages = consumer.consume(batch_size, 0.5)
            if not messages:
                idle += 0.5
                if idle >= timeout_s:
                    raise ArchiveError(f"no answer from {kafka.bootstrap} for {timeout_s:.0f} s")
                continue
            idle = 0.0
            taken = 0
            for msg in ends.records(messages):
                err = msg.error()
                if err is not None:
                    raise KafkaException(err)
                tp = (msg.topic() or "", msg.partition() or 0)
                ts_type, ts = msg.timestamp()
                writer.append(
                    ArchivedRecord(
                        tp[0],
                        tp[1],
                        msg.offset() or 0,
                        ts if ts_type else None,
                        msg.key(),
                        archived_headers(msg.headers()),
                        msg.value(),
                    )
                )
                records[tp[0]] += 1
                taken += 1
            if progress is not None and taken:
                progress(taken)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        consumer.close()
    return ArchiveResult(records, {f"{t}/{p}": o for (t, p), o in sorted(starts.items())})
