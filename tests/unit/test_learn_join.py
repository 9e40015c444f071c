"""The join of decision contexts and final rewards: both orders, duplicates, expiry, capacity."""

from __future__ import annotations

import numpy as np
import pytest

from serving.learning import FeedbackJoin, LearningConfigError, feedback_of
from tests.unit.learn_support import K, S, context, when


def test_context_then_reward_joins_once() -> None:
    join = FeedbackJoin(capacity=10, ttl_s=60)
    ctx = context(1, np.random.default_rng(0))
    assert join.add_context(ctx) is None
    assert join.pending_contexts == 1
    joined = join.add_reward("d-1", 0.5, when(ctx, 5))
    assert joined is not None and joined.context is ctx and joined.reward == 0.5
    assert join.add_reward("d-1", 0.5, when(ctx, 6)) is None  # a replayed copy
    assert join.add_context(ctx) is None
    assert (join.pending_contexts, join.pending_rewards, join.stats.joined, join.stats.duplicates) == (0, 0, 1, 2)


def test_reward_before_context_waits_for_it() -> None:
    join = FeedbackJoin(capacity=10, ttl_s=60)
    ctx = context(2, np.random.default_rng(0))
    assert join.add_reward("d-2", 1.0, when(ctx)) is None
    assert join.pending_rewards == 1
    joined = join.add_context(ctx)
    assert joined is not None and joined.reward == 1.0
    assert join.pending_rewards == 0


def test_entries_expire_behind_the_watermark() -> None:
    join = FeedbackJoin(capacity=10, ttl_s=60)
    rng = np.random.default_rng(0)
    old = context(1, rng, seconds=0)
    join.add_context(old)
    join.add_reward("d-lost", 1.0, when(old))
    join.add_context(context(2, rng, seconds=30))
    assert join.pending_contexts == 2 and join.pending_rewards == 1  # nothing is older than the ttl yet
    join.add_context(context(3, rng, seconds=61))
    assert join.stats.expired_contexts == 1 and join.stats.expired_rewards == 1
    assert join.add_reward("d-1", 1.0, when(old, 62)) is None  # too late: its context expired
    assert join.pending_contexts == 2


def test_capacity_drops_the_oldest() -> None:
    join = FeedbackJoin(capacity=3, ttl_s=1e6)
    rng = np.random.default_rng(0)
    for i in range(5):
        join.add_context(context(i, rng))
    assert join.pending_contexts == 3 and join.stats.evicted == 2
    assert join.add_reward("d-0", 1.0, 10.0) is None  # evicted
    assert join.add_reward("d-4", 1.0, 10.0) is not None


def test_feedback_of_a_round_has_the_context_arrays() -> None:
    join = FeedbackJoin()
    ctx = context(1, np.random.default_rng(3))
    join.add_context(ctx)
    joined = join.add_reward("d-1", 2.5, when(ctx))
    assert joined is not None
    feedback = feedback_of(joined)
    assert feedback.state.shape == (S,) and feedback.candidates.shape[0] == K
    assert feedback.chosen == ctx.chosen and feedback.reward == 2.5 and feedback.propensity == ctx.propensity
    assert feedback.done


@pytest.mark.parametrize("kwargs", [{"capacity": 0}, {"ttl_s": 0.0}, {"remember": 0}])
def test_join_rejects_bad_bounds(kwargs: dict[str, float]) -> None:
    with pytest.raises(LearningConfigError):
        FeedbackJoin(**kwargs)  # type: ignore[arg-type]
