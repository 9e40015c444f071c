"""Reads an archive back: the records of a topic partition in offset order, within an offset or time range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streams.archive.errors import ArchiveError, ArchiveFileError
from streams.archive.format import ArchivedRecord, open_segment, read_segment
from streams.archive.manifest import MANIFEST, Manifest, load_manifest

__all__ = ["RecordRange", "check_archive", "iter_partition", "open_archive"]


@dataclass(frozen=True, slots=True)
class RecordRange:
    """Which records of a partition: offsets ``[from_offset, until_offset)`` and record timestamps
    ``[from_ms, until_ms)``; ``None`` leaves a bound open.

    >>> RecordRange(from_ms=10, until_ms=20).admits(5, 15), RecordRange(from_ms=10).admits(5, None)
    (True, False)
    """

    from_offset: int | None = None
    until_offset: int | None = None
    from_ms: int | None = None
    until_ms: int | None = None

    def admits(self, offset: int, timestamp_ms: int | None) -> bool:
        """Whether a record at ``offset`` stamped ``timestamp_ms`` is in the range."""
        if self.from_offset is not None and offset < self.from_offset:
            return False
        if self.until_offset is not None and offset >= self.until_offset:
            return False
        if self.from_ms is None and self.until_ms is None:
            return True
        if timestamp_ms is None:
            return False
        if self.from_ms is not None and timestamp_ms < self.from_ms:
            return False
        return self.until_ms is None or timestamp_ms < self.until_ms

    def may_hold(self, first: int, last: int, min_ms: int | None, max_ms: int | None) -> bool:
        """Whether a segment with these bounds may hold a record in the range (lets readers skip files)."""
        if self.from_offset is not None and last < self.from_offset:
            return False
        if self.until_offset is not None and first >= self.until_offset:
            return False
        if self.from_ms is not None and max_ms is not None and max_ms < self.from_ms:
            return False
        return not (self.until_ms is not None and min_ms is not None and min_ms >= self.until_ms)


def open_archive(root: Path) -> Manifest:
    """The manifest of the archive at ``root``.

    Raises:
        ArchiveError: ``root`` is not an archive.
        ArchiveFileError: its manifest is unreadable (or newer).
    """
    if not (root / MANIFEST).is_file():
        raise ArchiveError(f"{root}: not a Kairos archive (no {MANIFEST})")
    return load_manifest(root)


def check_archive(root: Path, manifest: Manifest, topics: list[str] | None = None) -> int:
    """Open every listed segment of ``topics`` (all when ``None``) and check it; returns how many rows they hold.

    Raises:
        ArchiveFileError: a segment is missing, truncated, not Parquet, or of a newer schema (the file is named).
    """
    rows = 0
    for key, log in sorted(manifest.partitions.items()):
        topic = key.rpartition("/")[0]
        if topics is not None and topic not in topics:
            continue
        for segment in log.segments:
            path = root / segment.file
            if not path.is_file():
                raise ArchiveFileError(path, "listed in the manifest but missing")
            parquet = open_segment(path)
            if parquet.metadata.num_rows != segment.rows:
                raise ArchiveFileError(path, f"{parquet.metadata.num_rows} rows, the manifest lists {segment.rows}")
            rows += segment.rows
    return rows


def iter_partition(
    root: Path, manifest: Manifest, topic: str, partition: int, selection: RecordRange | None = None
) -> Iterator[ArchivedRecord]:
    """The archived records of ``topic[partition]`` in offset order, those in ``selection`` only.

    Raises:
        ArchiveFileError: a segment cannot be read (the file is named).
    """
    selection = selection or RecordRange()
    log = manifest.partitions.get(Manifest.key(topic, partition))
    if log is None:
        return
    for segment in log.segments:
        if not selection.may_hold(
            segment.first_offset, segment.last_offset, segment.min_timestamp, segment.max_timestamp
        ):
            continue
        for record in read_segment(root / segment.file):
            if selection.admits(record.offset, record.timestamp_ms):
                yield record
