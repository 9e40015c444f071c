"""A thread that reads a worker's ``/metrics`` every few seconds into a :class:`~kairos.web.snapshot.History`
(what a run watched from outside, such as ``kairos demo``, draws its report from)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kairos.web.snapshot import History, snapshot_of_text

__all__ = ["MetricsSampler"]

logger = logging.getLogger(__name__)


class MetricsSampler:
    """Samples ``read()`` (the ``/metrics`` text) every ``every_s`` until :meth:`stop`; a failed read is skipped.

    Args:
        read: returns the metrics page (e.g. ``WorkerProcess.metrics``).
        every_s: seconds between two reads.
        capacity: snapshots kept (see :class:`~kairos.web.snapshot.History`).
    """

    def __init__(self, read: Callable[[], str], *, every_s: float = 2.0, capacity: int = 360) -> None:
        self._read = read
        self._every_s = every_s
        self.history = History(capacity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)

    def start(self) -> MetricsSampler:
        """Start sampling in the background."""
        self._thread.start()
        return self

    def sample(self) -> None:
        """Read once now (a failed read is logged and skipped)."""
        try:
            self.history.add(snapshot_of_text(self._read(), time.time()))
        except OSError as exc:
            logger.warning("metrics not read: %s", exc)

    def stop(self) -> History:
        """Stop sampling, take one last snapshot, and return the history."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.sample()
        return self.history

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._every_s)
