"""Writes archive segments: records of one topic partition buffered into row groups, a file per segment.

Memory is bounded by the row-group buffer of each open partition (``row_group_rows`` records or
``row_group_bytes`` of keys and values, whichever comes first). A segment is written under a temporary name and
renamed when complete, then listed in the manifest; until then nothing of it is visible to readers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streams.archive.format import ARCHIVE_SCHEMA, ArchivedRecord, segment_name
from streams.archive.manifest import TEMP_SUFFIX, Manifest, Segment, save_manifest

__all__ = ["ArchiveWriter", "WriterLimits"]


@dataclass(frozen=True, slots=True)
class WriterLimits:
    """How much is buffered per partition and how large a segment grows."""

    row_group_rows: int = 50_000
    row_group_bytes: int = 32 * 1024 * 1024
    segment_rows: int = 1_000_000
    compression_level: int = 3


@dataclass
class _Open:
    """A segment being written."""

    temp: Path
    final_dir: Path
    writer: pq.ParquetWriter
    first_offset: int
    last_offset: int = -1
    rows: int = 0
    min_ts: int | None = None
    max_ts: int | None = None
    buffer: dict[str, list[object]] = field(default_factory=lambda: {n: [] for n in ARCHIVE_SCHEMA.names})
    buffered_bytes: int = 0


def _partition_dir(root: Path, topic: str, partition: int) -> Path:
    return root / topic / f"partition={partition}"


class ArchiveWriter:
    """Appends records to per-partition segments under ``root`` and keeps the manifest current.

    Args:
        root: the archive directory (created if missing).
        manifest: the archive's manifest (updated and saved as segments finish).
        limits: buffer and segment sizes.
        on_segment: called with each finished segment.
    """

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        limits: WriterLimits | None = None,
        on_segment: Callable[[Segment], None] | None = None,
    ) -> None:
        self._root = root
        self._manifest = manifest
        self._limits = limits or WriterLimits()
        self._on_segment = on_segment
        self._open: dict[tuple[str, int], _Open] = {}
        root.mkdir(parents=True, exist_ok=True)

    def append(self, record: ArchivedRecord) -> None:
        """Add one record (offsets must increase within a partition)."""
        key = (record.topic, record.partition)
        seg = self._open.get(key)
        if seg is None:
            seg = self._open[key] = self._start(record)
        buf = seg.buffer
        buf["topic"].append(record.topic)
        buf["partition"].append(record.partition)
        buf["offset"].append(record.offset)
        buf["timestamp"].append(record.timestamp_ms)
        buf["key"].append(record.key)
        buf["headers"].append([{"key": k, "value": v} for k, v in record.headers])
        buf["value"].append(record.value)
        seg.buffered_bytes += len(record.value or b"") + len(record.key or b"")
        seg.last_offset = record.offset
        seg.rows += 1
        ts = record.timestamp_ms
        if ts is not None:
            seg.min_ts = ts if seg.min_ts is None else min(seg.min_ts, ts)
            seg.max_ts = ts if seg.max_ts is None else max(seg.max_ts, ts)
        limits = self._limits
        if len(buf["offset"]) >= limits.row_group_rows or seg.buffered_bytes >= limits.row_group_bytes:
            self._write_group(seg)
        if seg.rows >= limits.segment_rows:
            self._finish(key)

    def _start(self, record: ArchivedRecord) -> _Open:
        directory = _partition_dir(self._root, record.topic, record.partition)
        directory.mkdir(parents=True, exist_ok=True)
        temp = directory / f"{record.offset:020d}.parquet{TEMP_SUFFIX}"
        writer = pq.ParquetWriter(
            temp, ARCHIVE_SCHEMA, compression="zstd", compression_level=self._limits.compression_level
        )
        return _Open(temp=temp, final_dir=directory, writer=writer, first_offset=record.offset)

    @staticmethod
    def _write_group(seg: _Open) -> None:
        if not seg.buffer["offset"]:
            return
        seg.writer.write_table(pa.Table.from_pydict(seg.buffer, schema=ARCHIVE_SCHEMA))
        seg.buffer = {n: [] for n in ARCHIVE_SCHEMA.names}
        seg.buffered_bytes = 0

    def _finish(self, key: tuple[str, int]) -> None:
        seg = self._open.pop(key)
        self._write_group(seg)
        seg.writer.close()
        final = seg.final_dir / segment_name(seg.first_offset, seg.last_offset)
        os.replace(seg.temp, final)
        segment = Segment(
            file=str(final.relative_to(self._root)),
            first_offset=seg.first_offset,
            last_offset=seg.last_offset,
            rows=seg.rows,
            min_timestamp=seg.min_ts,
            max_timestamp=seg.max_ts,
        )
        log = self._manifest.log(*key)
        log.segments.append(segment)
        log.next_offset = seg.last_offset + 1
        save_manifest(self._root, self._manifest)
        if self._on_segment is not None:
            self._on_segment(segment)

    def close(self) -> None:
        """Finish every open segment (each is renamed into place and listed)."""
        for key in sorted(self._open):
            self._finish(key)

    def abort(self) -> None:
        """Drop every open segment: its temporary file is deleted, the manifest is not touched."""
        for seg in self._open.values():
            seg.writer.close()
            seg.temp.unlink(missing_ok=True)
        self._open.clear()
