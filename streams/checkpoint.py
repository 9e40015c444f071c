"""Per-partition state checkpoints on local disk: the state plus the input offset it reflects.

A stage that cannot rebuild its state from a bounded tail of its input (user histories span months; topics keep
days) snapshots it with the next input offset. On assignment it loads the snapshot and replays the input from
that offset up to where consumption resumes. Files are written atomically (temporary file + rename). Pickle is
used because the file never leaves the worker's own disk.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["load_checkpoint", "save_checkpoint"]


def _path(directory: Path, stage: str, topic: str, partition: int) -> Path:
    return directory / stage / f"{topic}-{partition}.ckpt"


def save_checkpoint(directory: Path, stage: str, topic: str, partition: int, *, next_offset: int, state: Any) -> Path:
    """Write ``state`` as of ``next_offset`` (the first input offset it does not reflect)."""
    path = _path(directory, stage, topic, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump((next_offset, state), fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def load_checkpoint(directory: Path, stage: str, topic: str, partition: int) -> tuple[int, Any] | None:
    """``(next_offset, state)`` of the latest checkpoint, or None."""
    path = _path(directory, stage, topic, partition)
    if not path.exists():
        return None
    with path.open("rb") as fh:
        next_offset, state = pickle.load(fh)
    return int(next_offset), state
