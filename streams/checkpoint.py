"""Per-partition state checkpoints on local disk: the state plus the input offset it reflects.

A stage that cannot rebuild its state from a bounded tail of its input (user histories span months; topics keep
days) snapshots it with the next input offset. On assignment it loads the snapshot and replays the input from
that offset up to where consumption resumes. Files are written atomically (temporary file + rename). Pickle is
used because the file never leaves the worker's own disk.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["PartitionCheckpoints", "load_checkpoint", "save_checkpoint"]

S = TypeVar("S")


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


class PartitionCheckpoints(Generic[S]):
    """The owned partitions' states with their next input offsets, snapshotted together every ``every_s``.

    ``before_save`` runs first (e.g. writing pending rows to a store): a snapshot must never cover input whose
    effects are not yet durable elsewhere, since a restart replays only the input after the snapshot.

    Args:
        directory: where the checkpoint files live.
        stage: the stage's name (a sub-directory).
        topic: the input topic.
        before_save: called before every snapshot.
        every_s: how often :meth:`maybe_save` snapshots.
        clock: wall-clock seconds.
    """

    def __init__(
        self,
        directory: Path,
        stage: str,
        topic: str,
        *,
        before_save: Callable[[], None],
        every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._stage = stage
        self._topic = topic
        self._before_save = before_save
        self._every_s = every_s
        self._clock = clock
        self._last = clock()
        self.states: dict[int, S] = {}
        self._next: dict[int, int] = {}
        self._skip_below: dict[int, int] = {}

    def restore(self, partition: int, fresh: Callable[[], S]) -> tuple[int, S]:
        """The partition's checkpointed ``(next_offset, state)``, or ``(0, fresh())``; the caller replays from it."""
        loaded = load_checkpoint(self._directory, self._stage, self._topic, partition)
        return loaded if loaded is not None else (0, fresh())

    def adopt(self, partition: int, state: S, start: int, committed: int) -> None:
        """Own ``state`` (restored from ``start`` and replayed up to ``committed``).

        A checkpoint taken after a batch was applied but before its offsets were committed is ahead of the group:
        records below ``start`` are already in the state and :meth:`covers` says to skip them.
        """
        self.states[partition] = state
        self._next[partition] = max(start, committed, 0)
        self._skip_below[partition] = start

    def covers(self, partition: int, offset: int) -> bool:
        """Whether the partition's state already reflects the record at ``offset``."""
        return offset < self._skip_below[partition]

    def advance(self, partition: int, offset: int) -> None:
        """The record at ``offset`` is now reflected in the state."""
        self._next[partition] = offset + 1

    def release(self, partition: int) -> S | None:
        """Snapshot and forget the partition (on revoke)."""
        state = self.states.pop(partition, None)
        self._skip_below.pop(partition, None)
        if state is not None:
            self._before_save()
            save_checkpoint(
                self._directory, self._stage, self._topic, partition, next_offset=self._next.pop(partition), state=state
            )
        return state

    def maybe_save(self) -> None:
        """Snapshot every owned partition if ``every_s`` has passed since the last snapshot."""
        if self._clock() - self._last >= self._every_s:
            self.save_all()

    def save_all(self) -> None:
        """Run ``before_save``, then snapshot every owned partition."""
        self._before_save()
        for partition, state in self.states.items():
            save_checkpoint(
                self._directory, self._stage, self._topic, partition, next_offset=self._next[partition], state=state
            )
        self._last = self._clock()
