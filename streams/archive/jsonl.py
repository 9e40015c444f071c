"""Imports a JSON-lines file exported elsewhere into an archive.

Each line is one JSON object, either

* an **envelope** (it has ``value`` or ``value_b64``): ``topic``, ``partition``, ``offset``, ``timestamp`` (ms),
  ``key`` / ``key_b64``, ``headers`` (an object or a list of ``[key, value]`` pairs) and the value (a string is
  taken as UTF-8, an object or list is JSON-encoded, ``value_b64`` is raw bytes); or
* a **bare event** (anything else): the line itself is the value, the key is its ``user_id`` (else
  ``anonymous_id``).

Missing fields are derived: the topic is the import's default, the partition is murmur2 of the key (as Kafka's
producers), offsets continue each partition's archived sequence, the timestamp is the value's ``event_time``. The
file is read twice: once to check every line (a bad one is reported by file and line and nothing is written), once
to write.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from streams.archive.errors import ArchiveInputError
from streams.archive.format import ArchivedRecord, Header
from streams.archive.manifest import Manifest, load_manifest, remove_orphans
from streams.archive.partitioner import partition_for
from streams.archive.writer import ArchiveWriter, WriterLimits

__all__ = ["import_jsonl", "parse_line"]


def _bytes(obj: dict[str, Any], name: str) -> bytes | None:
    if f"{name}_b64" in obj:
        return base64.b64decode(obj[f"{name}_b64"], validate=True)
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


def _headers(raw: Any) -> tuple[Header, ...]:
    if raw is None:
        return ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    out: list[Header] = []
    for name, value in pairs:
        if not isinstance(name, str):
            raise ValueError(f"header name {name!r} is not a string")
        out.append((name, value.encode() if isinstance(value, str) else None if value is None else bytes(value)))
    return tuple(out)


def _event_time_ms(value: bytes | None) -> int | None:
    try:
        obj = orjson.loads(value or b"")
        return int(datetime.fromisoformat(obj["event_time"]).timestamp() * 1000)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def parse_line(line: bytes, default_topic: str, partitions: int) -> ArchivedRecord:
    """One line as a record; ``offset`` is -1 when the line names none (the importer numbers it).

    >>> r = parse_line(b'{"event_id":"e1","user_id":"u1","event_time":"2026-01-01T00:00:00+00:00"}', "t", 4)
    >>> r.topic, r.key, r.timestamp_ms, r.offset
    ('t', b'u1', 1767225600000, -1)

    Raises:
        ValueError: not a JSON object, or a field of the wrong type.
    """
    obj = orjson.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if "value" in obj or "value_b64" in obj:
        value = _bytes(obj, "value")
        key = _bytes(obj, "key")
        topic = obj.get("topic", default_topic)
        partition = obj.get("partition")
        offset = obj.get("offset", -1)
        timestamp = obj.get("timestamp")
        headers = _headers(obj.get("headers"))
    else:
        value = line
        identity = obj.get("user_id") or obj.get("anonymous_id")
        key = str(identity).encode() if identity is not None else None
        topic, partition, offset, timestamp, headers = default_topic, None, -1, None, ()
    if not isinstance(topic, str) or not topic:
        raise ValueError("topic must be a non-empty string")
    if partition is None:
        partition = partition_for(key, partitions) if key is not None else 0
    if not isinstance(partition, int) or not 0 <= partition < partitions:
        raise ValueError(f"partition must be an integer in 0..{partitions - 1}")
    if not isinstance(offset, int):
        raise ValueError("offset must be an integer")
    if timestamp is None:
        timestamp = _event_time_ms(value)
    elif not isinstance(timestamp, int):
        raise ValueError("timestamp must be an integer (ms since the epoch)")
    return ArchivedRecord(topic, partition, offset, timestamp, key, headers, value)


def _records(path: Path, default_topic: str, partitions: int, manifest: Manifest) -> Iterator[ArchivedRecord]:
    """The file's records with offsets assigned; raises ``ArchiveInputError`` at the first bad line."""
    next_offsets: dict[tuple[str, int], int] = {}
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            stripped = line.rstrip(b"\r\n")
            if not stripped.strip():
                continue
            try:
                record = parse_line(stripped, default_topic, partitions)
            except (orjson.JSONDecodeError, ValueError, TypeError, binascii.Error) as exc:
                raise ArchiveInputError(path, f"line {number}: {exc}") from exc
            tp = (record.topic, record.partition)
            expected = next_offsets.get(tp)
            if expected is None:
                log = manifest.partitions.get(Manifest.key(*tp))
                expected = log.next_offset if log is not None else 0
            offset = record.offset if record.offset >= 0 else expected
            if offset < expected:
                raise ArchiveInputError(
                    path, f"line {number}: offset {offset} of {tp[0]}[{tp[1]}] is not after {expected - 1}"
                )
            next_offsets[tp] = offset + 1
            yield ArchivedRecord(
                record.topic, record.partition, offset, record.timestamp_ms, record.key, record.headers, record.value
            )


def import_jsonl(
    path: Path,
    root: Path,
    *,
    default_topic: str,
    partitions: int,
    limits: WriterLimits | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Append the records of the JSON-lines file ``path`` to the archive at ``root``; returns records per topic.

    Raises:
        ArchiveInputError: the file is malformed (file and line named; nothing was written).
        ArchiveFileError: the archive's manifest is unreadable.
    """
    if not path.is_file():
        raise ArchiveInputError(path, "no such file")
    manifest = load_manifest(root) if root.exists() else Manifest()
    for _ in _records(path, default_topic, partitions, manifest):
        pass  # the checking pass
    root.mkdir(parents=True, exist_ok=True)
    remove_orphans(root, manifest)
    writer = ArchiveWriter(root, manifest, limits)
    counts: dict[str, int] = {}
    try:
        for record in _records(path, default_topic, partitions, manifest):
            writer.append(record)
            counts[record.topic] = counts.get(record.topic, 0) + 1
            if progress is not None and counts[record.topic] % 10_000 == 0:
                progress(10_000)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return counts
