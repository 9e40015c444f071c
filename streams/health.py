"""Liveness and readiness of a worker's stages, behind ``/healthz`` and ``/readyz``.

Each stage service registers a probe with the process's :data:`HEALTH` board (one per process, like the metrics
registry); the web views ask the board. Liveness fails when a stage crashed or its loop exited while it should be
running, and says which and why; readiness also needs every stage started and assigned (a group stage got its
first assignment, a follower caught up) and the broker reachable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["HEALTH", "HealthBoard", "StageState", "StageStatus"]


class StageState(StrEnum):
    """Where a stage's loop is."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CRASHED = "crashed"
    EXITED = "exited"
    """The loop returned although nobody asked it to stop."""


@dataclass(frozen=True, slots=True)
class StageStatus:
    """One stage as its probe sees it."""

    stage: str
    state: StageState
    ready: bool = False
    reason: str | None = None

    @property
    def alive(self) -> bool:
        """Whether the stage is doing (or getting ready to do) its job."""
        return self.state not in (StageState.CRASHED, StageState.EXITED)

    def as_dict(self) -> dict[str, object]:
        """The status as the web views show it."""
        out: dict[str, object] = {"state": self.state.value, "ready": self.ready}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


class HealthBoard:
    """The stages of one process and how to ask each for its status (thread-safe).

    >>> board = HealthBoard()
    >>> board.register("ingest", lambda: StageStatus("ingest", StageState.RUNNING, ready=True))
    >>> board.liveness()
    (True, {'status': 'ok', 'stages': {'ingest': {'state': 'running', 'ready': True}}})
    >>> board.register("features", lambda: StageStatus("features", StageState.CRASHED, reason="ValueError: x"))
    >>> ok, body = board.liveness()
    >>> ok, body["status"], body["failing"]
    (False, 'failing', {'features': 'ValueError: x'})
    >>> board.readiness(broker_error=None)[0]
    False
    """

    def __init__(self) -> None:
        self._probes: dict[str, Callable[[], StageStatus]] = {}
        self._lock = threading.Lock()

    def register(self, stage: str, probe: Callable[[], StageStatus]) -> None:
        """Ask ``probe`` for ``stage``'s status from now on (a later registration of the same name replaces it)."""
        with self._lock:
            self._probes[stage] = probe

    def unregister(self, stage: str) -> None:
        """Forget ``stage``."""
        with self._lock:
            self._probes.pop(stage, None)

    def statuses(self) -> list[StageStatus]:
        """Every registered stage's status, by stage name."""
        with self._lock:
            probes = sorted(self._probes.items())
        return [probe() for _, probe in probes]

    def liveness(self) -> tuple[bool, dict[str, object]]:
        """``(alive, body)``: alive unless a stage crashed or exited; ``body["failing"]`` names each and why."""
        statuses = self.statuses()
        failing = {s.stage: s.reason or s.state.value for s in statuses if not s.alive}
        body: dict[str, object] = {"status": "failing" if failing else "ok"}
        if failing:
            body["failing"] = failing
        body["stages"] = {s.stage: s.as_dict() for s in statuses}
        return not failing, body

    def readiness(self, broker_error: str | None) -> tuple[bool, dict[str, object]]:
        """``(ready, body)``: ready when the broker answered (``broker_error`` is None), at least one stage is
        registered and every stage is alive and ready; ``body["waiting"]`` says for what."""
        statuses = self.statuses()
        waiting: dict[str, str] = {}
        if broker_error is not None:
            waiting["broker"] = broker_error
        if not statuses:
            waiting["stages"] = "no stage started yet"
        for s in statuses:
            if not (s.alive and s.ready):
                waiting[s.stage] = s.reason or s.state.value
        body: dict[str, object] = {"status": "waiting" if waiting else "ready"}
        if waiting:
            body["waiting"] = waiting
        body["stages"] = {s.stage: s.as_dict() for s in statuses}
        return not waiting, body


HEALTH = HealthBoard()
"""The process's board: stage services register here, ``/healthz`` and ``/readyz`` read it."""
