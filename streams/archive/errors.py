"""Errors of the event-log archive, under the one Kairos taxonomy; each names the file it is about."""

from __future__ import annotations

from pathlib import Path

from schemas.errors import KairosError

__all__ = ["ArchiveError", "ArchiveFileError", "ArchiveInputError", "ArchiveSchemaError"]


class ArchiveError(KairosError):
    """The archive cannot be written or read."""


class ArchiveFileError(ArchiveError):
    """A file of the archive is not a readable Kairos archive file (truncated, not Parquet, wrong columns).

    Args:
        path: the file.
        problem: what is wrong with it.
    """

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class ArchiveSchemaError(ArchiveFileError):
    """A file was written with a newer archive schema than this Kairos reads."""


class ArchiveInputError(ArchiveFileError):
    """An input file handed to the archive (JSON lines) is malformed."""
