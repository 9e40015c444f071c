"""Coalescing, rate-decoupled writes to the Feast online store.

The feature stage updates thousands of entity rows per second; Feast's ``write_to_online_store`` does a few
thousand rows per second (STACK.md). So the stage never writes per event: it offers the latest row of each changed
entity, rows for the same key overwrite each other while they wait, and one background thread writes everything
pending every ``interval_s`` in one call per feature view. The in-process hot copy serves decisions; Feast lags by at
most about one interval plus one write, and stays the store other services read.

Every row written online is also kept for the offline history (training, backfill): with ``write_history`` set,
the written rows accumulate and go out as one parquet part per view every ``history_every_s`` and on close. The
history therefore holds each entity's row as of every online write (at most one version per key per interval).

When the online store is down (a :class:`~schemas.errors.TransientError`, e.g. Redis unreachable), nothing is lost
and nothing stops: the rows that were not written go back to the pending buffer (under any newer row offered for the
same key meanwhile: still the latest row per key, so the buffer is bounded by the number of entities), the thread
retries with exponential backoff (``interval_s`` doubling up to ``max_backoff_s``), ``on_failed`` counts each failed
write, :attr:`CoalescingWriter.available` says so, and the first successful write after an outage drains it all.
Decisions never wait on Feast (they read the hot copy). Any other error stops the writer as before: the next
:meth:`CoalescingWriter.offer` raises, so the stage does not commit what it could not store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from schemas.errors import TransientError

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
        on_failed: called with (view, rows) when a write failed transiently (the rows stay pending; metrics).
        max_backoff_s: the longest pause between two retries while the store is down.
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
        on_failed: Callable[[str, int], None] | None = None,
        max_backoff_s: float = 30.0,
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
        self._on_failed = on_failed
        self._max_backoff_s = max_backoff_s
        self.failures = 0  # consecutive failed flushes (0: the store answers)
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
            views = [view for view, rows in pending.items() if rows]
            for done, view in enumerate(views):
                rows = pending[view]
                started = time.perf_counter()
                batch = list(rows.values())
                try:
                    self._write(view, batch)
                except TransientError:
                    self._requeue({v: pending[v] for v in views[done:]})
                    self.failures += 1
                    if self._on_failed is not None:
                        self._on_failed(view, len(rows))
                    raise
                if self._write_history is not None:
                    self._history.setdefault(view, []).extend(batch)
                if self._on_written is not None:
                    self._on_written(view, len(rows), time.perf_counter() - started)
            if self.failures:
                logger.info("feature store available again after %s failed writes", self.failures)
                self.failures = 0
            if self._write_history is not None and (history or self._clock() >= self._history_due):
                self._history_due = self._clock() + self._history_every_s
                history_rows, self._history = self._history, {}
                for view, rows_ in history_rows.items():
                    self._write_history(view, rows_)

    @property
    def available(self) -> bool:
        """Whether the last write reached the store (false while it is down: rows wait, retries back off)."""
        return self.failures == 0

    def _requeue(self, failed: Mapping[str, Mapping[str, Row]]) -> None:
        """Put rows that were not written back, under any newer row offered for the same key meanwhile."""
        with self._lock:
            for view, rows in failed.items():
                self._pending[view] = {**rows, **self._pending.get(view, {})}

    def _pause(self) -> float:
        return min(self._interval_s * 2.0**self.failures, max(self._interval_s, self._max_backoff_s))

    def _run(self) -> None:
        while not self._stop.wait(self._pause()):
            try:
                self.flush()
            except TransientError as exc:
                if self.failures == 1:
                    logger.warning("feature store unavailable, rows kept pending, retrying with backoff: %s", exc)
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
