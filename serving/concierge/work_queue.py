"""A bounded queue of language-model turns, so generation never blocks the decision path."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from serving.concierge.errors import ConciergeConfigError
from serving.concierge.service import ChatTurn, Concierge, TurnResult

__all__ = ["ConciergeJob", "ConciergeQueue"]


@dataclass(frozen=True, slots=True)
class ConciergeJob:
    """A queued turn and its absolute deadline (on the queue's clock)."""

    turn: ChatTurn
    deadline: float


class ConciergeQueue:
    """Bounded work queue in front of :meth:`Concierge.answer`.

    * :meth:`submit` never waits. When the queue is full the **newest** request (the one being submitted) is
      rejected and counted as ``rejected_queue_full``: the caller learns at once, its shopper already has the
      immediate template reply, and the requests already queued keep their place (dropping the oldest would
      waste the wait they have already served and reorder follow-ups within a conversation).
    * Each job carries a deadline (``timeout_s`` from submission). A worker drops a job whose deadline has passed
      before it starts (``expired``) and gives the model only the time that is left.
    * :meth:`run` is the worker loop: it answers jobs one at a time (the model is the bottleneck) and hands
      replies rendered by the model to ``on_follow_up``; template or rule replies are not sent again, since the
      decision path already sent the template (``no_follow_up``).

    Counters live in :attr:`stats` (``submitted``, ``rejected_queue_full``, ``expired``, ``follow_up``,
    ``no_follow_up``); the agent exports them as metrics.
    """

    def __init__(self, max_size: int, clock: Callable[[], float] = time.monotonic) -> None:
        """Args:
            max_size: pending jobs at most (>= 1; ``ConciergeConfig.queue_max_size``).
            clock: seconds, monotonic; injected so tests control expiry.

        Raises:
            ConciergeConfigError: ``max_size`` < 1 (``asyncio.Queue`` would read 0 as unbounded).
        """
        if max_size < 1:
            raise ConciergeConfigError(f"max_size must be >= 1, got {max_size}")
        self._queue: asyncio.Queue[ConciergeJob] = asyncio.Queue(maxsize=max_size)
        self._clock = clock
        self.max_size = max_size
        self.stats: Counter[str] = Counter()

    def __len__(self) -> int:
        return self._queue.qsize()

    def submit(self, turn: ChatTurn, timeout_s: float) -> bool:
        """Queue ``turn`` without waiting; ``False`` (and a counted rejection) when the queue is full."""
        try:
            self._queue.put_nowait(ConciergeJob(turn, self._clock() + timeout_s))
        except asyncio.QueueFull:
            self.stats["rejected_queue_full"] += 1
            return False
        self.stats["submitted"] += 1
        return True

    async def process_one(
        self, concierge: Concierge, on_follow_up: Callable[[TurnResult], Awaitable[None]]
    ) -> TurnResult | None:
        """Take the next job (waiting for one) and answer it; ``None`` when it had expired."""
        job = await self._queue.get()
        try:
            remaining = job.deadline - self._clock()
            if remaining <= 0:
                self.stats["expired"] += 1
                return None
            result = await concierge.answer(job.turn, timeout_s=remaining)
            if result.reply.source == "lm":
                self.stats["follow_up"] += 1
                await on_follow_up(result)
            else:
                self.stats["no_follow_up"] += 1
            return result
        finally:
            self._queue.task_done()

    async def run(self, concierge: Concierge, on_follow_up: Callable[[TurnResult], Awaitable[None]]) -> None:
        """Answer jobs until cancelled."""
        while True:
            await self.process_one(concierge, on_follow_up)
