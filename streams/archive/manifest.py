"""The archive's manifest: the segments written per topic partition and where the next one starts.

The manifest is the archive's record of what it holds (a resumed ``kairos archive`` starts each partition at its
``next_offset``). It is replaced atomically (temporary file, then rename) after each finished segment; a segment
file the manifest does not list (a crash between the segment's rename and the manifest's) is an orphan and is
removed by :func:`remove_orphans` before writing resumes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from streams.archive.errors import ArchiveFileError, ArchiveSchemaError
from streams.archive.format import SCHEMA_VERSION

__all__ = ["MANIFEST", "Manifest", "PartitionLog", "Segment", "load_manifest", "remove_orphans", "save_manifest"]

MANIFEST = "manifest.json"
TEMP_SUFFIX = ".tmp"


class Segment(msgspec.Struct, frozen=True):
    """One finished segment file (path relative to the archive root)."""

    file: str
    first_offset: int
    last_offset: int
    rows: int
    min_timestamp: int | None
    max_timestamp: int | None


class PartitionLog(msgspec.Struct):
    """The segments of one topic partition, in offset order, and the next offset to archive."""

    next_offset: int = 0
    segments: list[Segment] = msgspec.field(default_factory=list)


class _Document(msgspec.Struct):
    schema_version: int
    partitions: dict[str, PartitionLog]


@dataclass
class Manifest:
    """What an archive holds: ``"<topic>/<partition>"`` to its :class:`PartitionLog`."""

    partitions: dict[str, PartitionLog] = field(default_factory=dict)

    @staticmethod
    def key(topic: str, partition: int) -> str:
        """The manifest key of a topic partition.

        >>> Manifest.key("kairos.events.raw.v1", 3)
        'kairos.events.raw.v1/3'
        """
        return f"{topic}/{partition}"

    def log(self, topic: str, partition: int) -> PartitionLog:
        """The partition's log (created empty when absent)."""
        return self.partitions.setdefault(self.key(topic, partition), PartitionLog())

    def topics(self) -> dict[str, list[int]]:
        """Archived topics and their partitions."""
        out: dict[str, list[int]] = {}
        for key in sorted(self.partitions):
            topic, _, partition = key.rpartition("/")
            out.setdefault(topic, []).append(int(partition))
        return {t: sorted(ps) for t, ps in out.items()}


def load_manifest(root: Path) -> Manifest:
    """The archive's manifest (empty when the archive is new).

    Raises:
        ArchiveFileError: the manifest is not valid JSON of the expected shape.
        ArchiveSchemaError: the archive was written by a newer schema.
    """
    path = root / MANIFEST
    if not path.exists():
        return Manifest()
    try:
        doc = msgspec.json.decode(path.read_bytes(), type=_Document)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ArchiveFileError(path, f"unreadable manifest ({exc})") from exc
    if doc.schema_version > SCHEMA_VERSION:
        raise ArchiveSchemaError(path, f"archive schema version {doc.schema_version} is newer than {SCHEMA_VERSION}")
    return Manifest(doc.partitions)


def save_manifest(root: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically."""
    path = root / MANIFEST
    temp = path.with_name(path.name + TEMP_SUFFIX)
    temp.write_bytes(msgspec.json.encode(_Document(SCHEMA_VERSION, manifest.partitions)))
    os.replace(temp, path)


def remove_orphans(root: Path, manifest: Manifest) -> list[Path]:
    """Delete temporary files and segments the manifest does not list; returns what was removed."""
    listed = {root / s.file for log in manifest.partitions.values() for s in log.segments}
    removed = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name == MANIFEST:
            continue
        if path.name.endswith(TEMP_SUFFIX) or (path.suffix == ".parquet" and path not in listed):
            path.unlink()
            removed.append(path)
    return removed
