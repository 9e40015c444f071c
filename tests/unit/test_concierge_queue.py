"""The bounded LM work queue: never blocks, rejects the newest when full, expires stale jobs, follows up LM text."""

from __future__ import annotations

import asyncio

import pytest

from schemas.decisions import Action, InterventionType
from serving.concierge import ChatTurn, ConciergeConfigError, ConciergeQueue, TurnResult
from tests.unit.test_concierge_support import ScriptedModel, concierge

ACTION = Action(type=InterventionType.UPSELL, product_id="p00004")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _turn(n: int, message: str = "poems about the sea") -> ChatTurn:
    return ChatTurn(f"s{n}", message, ACTION, f"d{n}")


def test_submit_never_waits_and_rejects_the_newest_when_full() -> None:
    queue = ConciergeQueue(max_size=2, clock=FakeClock())
    assert [queue.submit(_turn(n), timeout_s=5.0) for n in range(4)] == [True, True, False, False]
    assert len(queue) == 2
    assert queue.stats == {"submitted": 2, "rejected_queue_full": 2}


async def test_queued_jobs_keep_their_order_and_only_model_text_is_followed_up() -> None:
    model = ScriptedModel("The Poetry collection [p00004] has modern poems about the sea.", TimeoutError())
    queue = ConciergeQueue(max_size=4, clock=FakeClock())
    sent: list[TurnResult] = []

    async def follow_up(result: TurnResult) -> None:
        sent.append(result)

    queue.submit(_turn(1), timeout_s=5.0)
    queue.submit(_turn(2), timeout_s=5.0)
    queue.submit(_turn(3, "Where is my order?"), timeout_s=5.0)
    c = concierge(model)
    results = [await queue.process_one(c, follow_up) for _ in range(3)]
    assert [r.reply.decision_id for r in results if r is not None] == ["d1", "d2", "d3"]
    assert [r.reply.source for r in results if r is not None] == ["lm", "template", "rules"]
    assert [r.reply.decision_id for r in sent] == ["d1"]
    assert queue.stats["follow_up"] == 1 and queue.stats["no_follow_up"] == 2 and len(queue) == 0


async def test_jobs_past_their_deadline_are_dropped_before_generation() -> None:
    clock = FakeClock()
    model = ScriptedModel()
    queue = ConciergeQueue(max_size=2, clock=clock)
    queue.submit(_turn(1), timeout_s=1.0)
    clock.now += 2.0

    async def follow_up(result: TurnResult) -> None:
        raise AssertionError("nothing to follow up")

    assert await queue.process_one(concierge(model), follow_up) is None
    assert model.prompts == [] and queue.stats["expired"] == 1


async def test_the_worker_gives_the_model_only_the_time_left() -> None:
    clock = FakeClock()
    timeouts: list[float] = []

    class Recording(ScriptedModel):
        async def __call__(self, messages, max_new_tokens, timeout_s):  # type: ignore[no-untyped-def]
            timeouts.append(timeout_s)
            return await super().__call__(messages, max_new_tokens, timeout_s)

    queue = ConciergeQueue(max_size=1, clock=clock)
    queue.submit(_turn(1), timeout_s=3.0)
    clock.now += 1.0

    async def follow_up(result: TurnResult) -> None:
        return None

    await queue.process_one(concierge(Recording(TimeoutError())), follow_up)
    assert timeouts == [2.0]


async def test_run_loops_until_cancelled() -> None:
    queue = ConciergeQueue(max_size=2, clock=FakeClock())
    done = asyncio.Event()

    async def follow_up(result: TurnResult) -> None:
        done.set()

    queue.submit(_turn(1), timeout_s=5.0)
    task = asyncio.create_task(queue.run(concierge(ScriptedModel("The Poetry collection p00004 is calm.")), follow_up))
    await done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_size_must_be_positive() -> None:
    with pytest.raises(ConciergeConfigError):
        ConciergeQueue(max_size=0)
