"""The archive's file format: one Parquet schema (zstd, row groups), the record type and file naming.

An archive is a directory: ``<root>/manifest.json`` (what was written, see :mod:`streams.archive.manifest`) and
segments ``<root>/<topic>/partition=<p>/<first offset>-<last offset>.parquet``, each holding the records of one
partition in offset order, with the columns ``topic, partition, offset, timestamp, key, headers, value`` and the
archive schema version in the file's key-value metadata (``kairos.archive.schema_version``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streams.archive.errors import ArchiveFileError, ArchiveSchemaError

__all__ = [
    "ARCHIVE_SCHEMA",
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_KEY",
    "ArchivedRecord",
    "Header",
    "open_segment",
    "read_segment",
    "segment_name",
]

SCHEMA_VERSION = 1
"""The archive schema this code writes and the newest it reads."""

SCHEMA_VERSION_KEY = b"kairos.archive.schema_version"

Header = tuple[str, bytes | None]

_HEADER = pa.struct([("key", pa.string()), ("value", pa.binary())])

ARCHIVE_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", pa.int64()),  # record timestamp, ms since the epoch (null: none)
        ("key", pa.binary()),
        ("headers", pa.list_(_HEADER)),
        ("value", pa.binary()),
    ],
    metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()},
)


@dataclass(frozen=True, slots=True)
class ArchivedRecord:
    """One Kafka record as archived."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    headers: tuple[Header, ...]
    value: bytes | None


def segment_name(first: int, last: int) -> str:
    """The file name of a segment holding offsets ``first..last``.

    >>> segment_name(0, 41)
    '00000000000000000000-00000000000000000041.parquet'
    """
    return f"{first:020d}-{last:020d}.parquet"


def open_segment(path: Path) -> pq.ParquetFile:
    """Open one archive file, checking it is Parquet, complete, of a schema version we read, with our columns.

    Raises:
        ArchiveFileError: missing, truncated or not Parquet, or without the archive's columns.
        ArchiveSchemaError: written by a newer archive schema.
    """
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveFileError(path, f"not a readable Parquet file ({exc})") from exc
    metadata = parquet.schema_arrow.metadata or {}
    raw = metadata.get(SCHEMA_VERSION_KEY)
    if raw is None:
        raise ArchiveFileError(path, "not a Kairos archive file (no kairos.archive.schema_version)")
    try:
        version = int(raw)
    except ValueError as exc:
        raise ArchiveFileError(path, f"unreadable schema version {raw!r}") from exc
    if version > SCHEMA_VERSION:
        raise ArchiveSchemaError(path, f"archive schema version {version} is newer than {SCHEMA_VERSION} (upgrade)")
    missing = set(ARCHIVE_SCHEMA.names) - set(parquet.schema_arrow.names)
    if missing:
        raise ArchiveFileError(path, f"missing columns {sorted(missing)}")
    return parquet


def read_segment(path: Path, *, batch_rows: int = 10_000) -> Iterator[ArchivedRecord]:
    """The records of one segment in order, ``batch_rows`` rows in memory at a time.

    Raises:
        ArchiveFileError: see :func:`open_segment`; also a file whose data turns out corrupt while reading.
    """
    parquet = open_segment(path)
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=ARCHIVE_SCHEMA.names):
            columns = batch.to_pydict()
            for topic, partition, offset, ts, key, headers, value in zip(
                columns["topic"],
                columns["partition"],
                columns["offset"],
                columns["timestamp"],
                columns["key"],
                columns["headers"],
                columns["value"],
                strict=True,
            ):
                pairs = tuple((h["key"], h["value"]) for h in headers or ())
                yield ArchivedRecord(topic, partition, offset, ts, key, pairs, value)
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveFileError(path, f"corrupt data ({exc})") from exc
