"""Hosts a :class:`~streams.batch_loop.BatchLoop` inside the faust worker, in its own thread.

The loop's consumer blocks in librdkafka (GIL released); the faust event loop stays free for the web server and
the concierge coroutine (Kairos has no faust agents: docs/architecture.md). Every stage gets a thread of its own:
the event loop's default executor has ``cpu_count + 4`` threads, fewer than a worker's stages on a small machine,
and a stage queued behind the others never starts.
If the loop dies, the service crashes the worker: a supervisor restarts it and the stage's restart logic makes the
replay exact. Each service reports its stage to :data:`streams.health.HEALTH` (``/healthz``, ``/readyz``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from mode import Service

from streams.health import HEALTH, StageState, StageStatus

__all__ = ["BatchLoopService", "Readiness", "StageLoop"]

logger = logging.getLogger(__name__)


class StageLoop(Protocol):
    """What a service runs in its thread: a :class:`~streams.batch_loop.BatchLoop` or a follower."""

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        ...


@runtime_checkable
class Readiness(Protocol):
    """A stage loop that can say when it is ready (assigned, caught up); loops without it are ready once running."""

    def ready(self) -> bool:
        """Whether the loop is doing its job yet."""
        ...


class BatchLoopService(Service):
    """A mode service owning one stage-loop thread; subclasses say how to build the loop."""

    stage = "stage"

    def __post_init__(self) -> None:
        self._stop_event = threading.Event()
        self._future: asyncio.Future[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stage-{self.stage}")
        self.batch_loop: StageLoop | None = None

    @abstractmethod
    def make_loop(self) -> StageLoop:
        """Build the loop (called in the loop's thread)."""

    def _run(self) -> None:
        self.batch_loop = self.make_loop()
        self.batch_loop.run(self._stop_event)

    async def on_start(self) -> None:
        HEALTH.register(self.stage, self.status)
        self._future = asyncio.get_running_loop().run_in_executor(self._executor, self._run)
        self.add_future(self._watch(self._future))

    def status(self) -> StageStatus:
        """The stage's liveness and readiness (called on the event loop)."""
        future, stopping = self._future, self._stop_event.is_set()
        if future is not None and future.done():
            exc = None if future.cancelled() else future.exception()
            if exc is not None:
                return StageStatus(self.stage, StageState.CRASHED, reason=f"{type(exc).__name__}: {exc}")
            if not stopping:
                return StageStatus(self.stage, StageState.EXITED, reason="the stage loop returned unasked")
        if stopping:
            return StageStatus(self.stage, StageState.STOPPING)
        loop = self.batch_loop
        if future is None or loop is None:
            return StageStatus(self.stage, StageState.STARTING)
        return StageStatus(self.stage, StageState.RUNNING, ready=not isinstance(loop, Readiness) or loop.ready())

    async def _watch(self, future: asyncio.Future[None]) -> None:
        try:
            await future
        except Exception as exc:
            logger.exception("stage %s crashed; stopping the worker", self.stage)
            await self.crash(exc)

    async def on_stop(self) -> None:
        self._stop_event.set()
        if self._future is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._future), timeout=60)
        self._executor.shutdown(wait=False)
