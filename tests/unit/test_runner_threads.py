"""Every stage service runs its loop in a thread of its own, however many stages a worker hosts."""

from __future__ import annotations

import asyncio
import threading

from agents.runner import BatchLoopService

STAGES = 40  # more than any default executor has threads (min(32, cpu_count + 4))


class _Blocking:
    """A stage loop that blocks its thread until the stage stops, like a consumer loop."""

    def __init__(self, started: threading.Barrier) -> None:
        self._started = started

    def run(self, stop: threading.Event) -> None:
        self._started.wait(timeout=30)
        stop.wait()


def test_forty_blocking_stages_all_start() -> None:
    everyone = threading.Barrier(STAGES + 1)

    class Stage(BatchLoopService):
        stage = "blocking"

        def make_loop(self) -> _Blocking:
            return _Blocking(everyone)

    async def main() -> bool:
        services = [Stage() for _ in range(STAGES)]
        for service in services:
            await service.start()
        try:
            # the barrier opens only when every stage's loop is running at the same time
            return await asyncio.to_thread(everyone.wait, 30) >= 0
        finally:
            for service in services:
                await service.stop()

    assert asyncio.run(main())
