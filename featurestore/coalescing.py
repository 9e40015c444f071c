"""Coalescing, rate-decoupled writes to the Feast online store.

The feature stage updates thousands of entity rows per second; Feast's ``write_to_online_store`` does a few
thousand rows per second (STACK.md). So the stage never writes per event: it offers the latest row of each changed
entity, rows for the same key overwrite each other while they wait, and one background thread writes everything
pending every ``interval_s`` in one call per feature view. The in-process hot copy serves decisions; Feast lags by at
most about one interval plus one write, and stays the store other services read.

Every row written online is also kept for the offline history (training, backfill): with ``write_history`` set,
the written rows accumulate and go out as one parquet part per view every ``history_every_s`` and on close. The
history therefore holds each entity's row as of every online write (at most one version per key per interval).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["CoalescingWriter"]

logger = logging.getLogger(__name__)

Row = Mapping[str, Any]
WriteBatch = Callable[[str, list[Row]], None]
EraseKeys = Callable[[str, list[str]], None]


class CoalescingWriter:
    """Latest-row-per-key buffer drained by a background thread.

    Args:
        write: writes one view's rows in one call (e.g. ``OnlineFeatureWriter.write``).
        interval_s: how often pending rows are written.
        on_written: called with (view, rows, seconds) after each successful write (metrics).
        write_history: appends one view's rows to the offline history (e.g. ``OnlineFeatureWriter.write_offline``).
        history_every_s: how often the accumulated history rows are appended.
        clock: monotonic seconds (injected for tests).
        erase: deletes one view's rows of the given entity keys from the stores (e.g. ``OnlineFeatureWriter.erase``).
    """

    def __init__(
        self,
        write: WriteBatch,
        *,
        interval_s: float = 1.0,
        on_written: Callable[[str, int, float], None] | None = None,
        write_history: WriteBatch | None = None,
        history_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        erase: EraseKeys | None = None,
    ) -> None:
        self._write = write
        self._erase = erase
        self._interval_s = interval_s
        self._on_written = on_written
        self._write_history = write_history
        self._history_every_s = history_every_s
        self._clock = clock
        self._history: dict[str, list[Row]] = {}
        self._history_due = clock() + history_every_s
        self._pending: dict[str, dict[str, Row]] = {}
        self._lock = threading.Lock()  # guards the pending rows
        self._write_lock = threading.Lock()  # one write at a time, in order: stages and the thread may all flush
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feast-writer", daemon=True)
        self._thread.start()

    def offer(self, view: str, rows: Mapping[str, Row]) -> None:
        """Queue ``rows`` (entity key → row) for ``view``; a newer row replaces a pending one for the same key.

        Raises:
            RuntimeError: the writer thread failed (its error is the cause); the caller must not commit.
        """
        if self._error is not None:
            raise RuntimeError("feature store writer failed") from self._error
        with self._lock:
            self._pending.setdefault(view, {}).update(rows)

    def forget(self, view: str, keys: Iterable[str], join_key: str) -> None:
        """Erase ``keys`` of ``view``: their pending and history rows are dropped, then ``erase`` deletes what was
        written (in order with every write: a row offered before cannot land after).

        Args:
            view: the feature view.
            keys: entity keys to erase.
            join_key: the view's join-key column (how history rows name their key).
        """
        gone = set(keys)
        with self._write_lock:
            with self._lock:
                for key in gone:
                    self._pending.get(view, {}).pop(key, None)
            history = self._history.get(view)
            if history:
                self._history[view] = [row for row in history if row.get(join_key) not in gone]
            if self._erase is not None and gone:
                self._erase(view, sorted(gone))

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        with self._lock:
            return sum(len(rows) for rows in self._pending.values())

    def flush(self, *, history: bool = False) -> None:
        """Write everything pending now, in the caller's thread (serialised with every other flush).

        Args:
            history: also append the accumulated history rows now, whether or not they are due.
        """
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            for view, rows in pending.items():
                if not rows:
                    continue
                started = time.perf_counter()
                batch = list(rows.values())
                self._write(view, batch)
                if self._write_history is not None:
                    self._history.setdefault(view, []).extend(batch)
                if self._on_written is not None:
                    self._on_written(view, len(rows), time.perf_counter() - started)
            if self._write_history is not None and (history or self._clock() >= self._history_due):
                self._history_due = self._clock() + self._history_every_s
                history_rows, self._history = self._history, {}
                for view, rows_ in history_rows.items():
                    self._write_history(view, rows_)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.flush()
            except Exception as exc:
                logger.exception("feature store write failed")
                self._error = exc
                return

    def close(self) -> None:
        """Stop the thread and write what is left.

        Raises:
            RuntimeError: an earlier background write failed.
        """
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise RuntimeError("feature store writer failed") from self._error
        self.flush(history=True)
