"""Joins decision contexts with their learning rewards by decision id, in bounded memory, purely.

Contexts arrive right after their decisions; a decision's learning reward (the attribution's ``early`` reward by
default) arrives hours later, occasionally before the context (two topics, two consumers). Contexts wait in a
:class:`~serving.learning.contexts.ContextStore` (memory, or a SQLite file for hours of contexts), early rewards in
an insertion-ordered dict; both are bounded by ``capacity`` (the oldest entry is dropped first) and by ``ttl_s`` of
event time behind the newest time seen (the watermark): a context whose reward never comes, or a reward whose context
was lost, expires. Replayed copies (the same decision id again) are ignored once joined.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from schemas.contexts import DecisionContext
from serving.learning.contexts import ContextStore, MemoryContexts
from serving.learning.errors import LearningConfigError
from serving.policy.base import Feedback

__all__ = ["FeedbackJoin", "JoinStats", "Round", "feedback_of"]


@dataclass(frozen=True, slots=True)
class Round:
    """One joined decision: its context and the learning reward it earned."""

    context: DecisionContext
    reward: float


@dataclass(slots=True)
class JoinStats:
    """Counters of a :class:`FeedbackJoin` (cumulative)."""

    joined: int = 0
    duplicates: int = 0
    expired_contexts: int = 0
    expired_rewards: int = 0
    evicted: int = 0


class FeedbackJoin:
    """Pending contexts and early rewards, joined by decision id (see the module docstring).

    Args:
        capacity: most entries kept on each side (the contexts' when no ``store`` is given).
        ttl_s: event-time seconds an entry waits behind the watermark before it expires (at least the learning
            reward's delay, the attribution's early horizon, plus the attributor's lateness).
        remember: how many joined decision ids are remembered to ignore replayed copies.
        store: where the contexts wait (default: :class:`~serving.learning.contexts.MemoryContexts` of
            ``capacity``).

    Raises:
        LearningConfigError: a non-positive capacity, ttl or memory.

    >>> from datetime import UTC, datetime
    >>> join = FeedbackJoin(capacity=10, ttl_s=60)
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ctx = DecisionContext(decision_id="d-1", key="u-1", event_time=t, schema_version=1, session_id="s-1",
    ...     policy_name="p", policy_version="p-u0", policy_source="triton", state=[0.0], candidates=[[1.0]],
    ...     mask=[True], chosen=0, propensity=1.0)
    >>> join.add_context(ctx) is None, join.add_reward("d-1", 2.0, t.timestamp()).reward
    (True, 2.0)
    """

    def __init__(
        self,
        *,
        capacity: int = 100_000,
        ttl_s: float = 14_400.0,
        remember: int = 100_000,
        store: ContextStore | None = None,
    ) -> None:
        if capacity < 1 or not ttl_s > 0 or remember < 1:
            raise LearningConfigError(f"join needs positive capacity, ttl and memory: {capacity=} {ttl_s=} {remember=}")
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.remember = remember
        self.contexts: ContextStore = store if store is not None else MemoryContexts(capacity)
        self._rewards: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._joined: OrderedDict[str, None] = OrderedDict()
        self.watermark_s = float("-inf")
        self.stats = JoinStats()

    @property
    def pending_contexts(self) -> int:
        """Contexts held (a durable store also holds joined ones until they expire)."""
        return len(self.contexts)

    @property
    def pending_rewards(self) -> int:
        """Rewards waiting for their context."""
        return len(self._rewards)

    def add_context(self, context: DecisionContext) -> Round | None:
        """Hold a context, or join it with its reward if that came first."""
        decision_id = context.decision_id
        self._advance(context.event_time.timestamp())
        if decision_id in self._joined or decision_id in self.contexts:
            self.stats.duplicates += 1
            return None
        self.stats.evicted += self.contexts.put(context)
        early = self._rewards.pop(decision_id, None)
        if early is None:
            return None
        self.contexts.take(decision_id)  # a durable store keeps it (a restart re-reads the reward), memory lets go
        return self._join(context, early[0])

    def add_reward(self, decision_id: str, value: float, event_time_s: float) -> Round | None:
        """Join a learning reward with its held context, or hold it until the context comes."""
        self._advance(event_time_s)
        if decision_id in self._joined or decision_id in self._rewards:
            self.stats.duplicates += 1
            return None
        context = self.contexts.take(decision_id)
        if context is not None:
            return self._join(context, value)
        self._rewards[decision_id] = (value, event_time_s)
        if len(self._rewards) > self.capacity:
            self._rewards.popitem(last=False)
            self.stats.evicted += 1
        return None

    def _join(self, context: DecisionContext, reward: float) -> Round:
        self._joined[context.decision_id] = None
        if len(self._joined) > self.remember:
            self._joined.popitem(last=False)
        self.stats.joined += 1
        return Round(context, reward)

    def _advance(self, time_s: float) -> None:
        """Move the watermark and expire entries older than ``ttl_s`` behind it (oldest first, by arrival)."""
        if time_s <= self.watermark_s:
            return
        self.watermark_s = time_s
        horizon = time_s - self.ttl_s
        self.stats.expired_contexts += self.contexts.expire(horizon)
        rewards = self._rewards
        while rewards:
            _value, seen_s = next(iter(rewards.values()))
            if seen_s >= horizon:
                break
            rewards.popitem(last=False)
            self.stats.expired_rewards += 1


def feedback_of(joined: Round) -> Feedback:
    """A policy's :class:`~serving.policy.Feedback` from a joined round (a bandit step: no next state).

    Raises:
        PolicyInputError: the context's arrays are inconsistent (chosen out of range, mask of the wrong length).
    """
    context = joined.context
    candidates = np.asarray(context.candidates, dtype=np.float32)
    if candidates.ndim != 2:
        candidates = candidates.reshape(len(context.candidates), -1)
    return Feedback(
        state=np.asarray(context.state, dtype=np.float32),
        candidates=candidates,
        mask=np.asarray(context.mask, dtype=np.bool_),
        chosen=context.chosen,
        reward=joined.reward,
        propensity=context.propensity,
        stratum=context.stratum,
    )
