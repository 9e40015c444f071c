"""Stage liveness and readiness as ``/healthz`` and ``/readyz`` report them: a crashed stage fails with its reason."""

from __future__ import annotations

import asyncio
import threading

from agents.runner import BatchLoopService
from streams.health import HEALTH, HealthBoard, StageState


class _Loop:
    def __init__(self, *, fail: bool = False, ready: bool = True, returns: bool = False) -> None:
        self._fail, self._ready, self._returns = fail, ready, returns
        self.running = threading.Event()

    def ready(self) -> bool:
        return self._ready

    def run(self, stop: threading.Event) -> None:
        self.running.set()
        if self._fail:
            raise RuntimeError("feature store unreachable")
        if not self._returns:
            stop.wait()


def _service(name: str, loop: _Loop) -> BatchLoopService:
    class Stage(BatchLoopService):
        stage = name

        def make_loop(self) -> _Loop:
            return loop

        async def crash(self, reason: BaseException) -> None:  # a worker would stop; the test keeps looking
            pass

    return Stage()


async def _started(service: BatchLoopService, loop: _Loop) -> None:
    await service.start()
    await asyncio.to_thread(loop.running.wait, 10)
    for _ in range(100):  # let the loop's future settle
        await asyncio.sleep(0.01)


def test_a_crashed_stage_fails_liveness_with_its_reason() -> None:
    async def main() -> None:
        healthy, crashing = _Loop(), _Loop(fail=True)
        services = [_service("t_healthy", healthy), _service("t_crashing", crashing)]
        await _started(services[0], healthy)
        await _started(services[1], crashing)
        try:
            alive, body = HEALTH.liveness()
            assert not alive and body["status"] == "failing"
            assert body["failing"] == {"t_crashing": "RuntimeError: feature store unreachable"}
            stages = body["stages"]
            assert isinstance(stages, dict) and stages["t_healthy"] == {"state": "running", "ready": True}
            assert not HEALTH.readiness(None)[0]
        finally:
            for service in services:
                await service.stop()
                HEALTH.unregister(service.stage)

    asyncio.run(main())


def test_a_loop_that_returns_unasked_is_not_alive_and_a_stopping_one_is() -> None:
    async def main() -> None:
        loop = _Loop(returns=True)
        service = _service("t_returns", loop)
        await _started(service, loop)
        try:
            assert service.status().state is StageState.EXITED
            assert not HEALTH.liveness()[0]
        finally:
            await service.stop()
            assert service.status().state is StageState.STOPPING
            HEALTH.unregister(service.stage)

    asyncio.run(main())


def test_readiness_waits_for_assignment_and_the_broker() -> None:
    async def main() -> None:
        loop = _Loop(ready=False)
        service = _service("t_unassigned", loop)
        board = HealthBoard()
        board.register(service.stage, service.status)
        await _started(service, loop)
        try:
            assert board.liveness()[0]
            ready, body = board.readiness(None)
            assert not ready and body["waiting"] == {"t_unassigned": "running"}
            loop._ready = True
            assert board.readiness(None)[0]
            ready, body = board.readiness("broker unreachable: timed out")
            assert not ready and body["waiting"] == {"broker": "broker unreachable: timed out"}
        finally:
            await service.stop()
            HEALTH.unregister(service.stage)

    asyncio.run(main())
