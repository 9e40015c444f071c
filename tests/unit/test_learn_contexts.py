"""Where contexts wait for their rewards: the SQLite store (durable, with offsets) and the join on top of it; the
settings refuse a join that could never see its rewards."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from kairos.serving import check_join_ttl
from kairos.settings import AttributionSettings, LearnConfig, Settings, SettingsError
from serving.learning import FeedbackJoin, LearningConfigError, MemoryContexts, SqliteContexts
from tests.unit.learn_support import context, when


def test_a_stored_context_comes_back_equal_and_stays_until_it_expires(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = SqliteContexts(tmp_path / "c.sqlite")
    ctx = context(1, rng)
    assert store.put(ctx) == 0 and len(store) == 1 and "d-1" in store
    assert store.take("d-1") == ctx
    assert store.take("d-1") == ctx  # kept: a reward re-read after a restart joins again
    assert store.take("d-2") is None
    assert store.expire(when(ctx)) == 0  # not older than the horizon
    assert store.expire(when(ctx, 61)) == 1 and len(store) == 0


def test_the_store_keeps_what_was_committed_with_the_topic_positions(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "c.sqlite"
    store = SqliteContexts(path)
    for i in range(3):
        store.put(context(i, rng))
    store.commit({("kairos.decision_contexts.v1", 0): 3, ("kairos.decision_contexts.v1", 1): 7})
    store.put(context(3, rng))  # not committed: lost with the process
    store._db.rollback()  # what a crash before the next commit leaves
    reopened = SqliteContexts(path)
    assert len(reopened) == 3 and "d-2" in reopened and "d-3" not in reopened
    assert reopened.positions() == {("kairos.decision_contexts.v1", 0): 3, ("kairos.decision_contexts.v1", 1): 7}


def test_the_store_holds_at_most_capacity_dropping_the_oldest(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    store = SqliteContexts(tmp_path / "c.sqlite", capacity=2)
    evicted = [store.put(context(i, rng)) for i in (5, 3, 4)]
    assert evicted == [0, 0, 1]
    assert len(store) == 2 and "d-3" not in store  # the oldest by event time, not by arrival
    with pytest.raises(LearningConfigError):
        SqliteContexts(tmp_path / "other.sqlite", capacity=0)


@pytest.mark.parametrize("durable", [False, True])
def test_the_join_works_the_same_over_either_store(tmp_path: Path, durable: bool) -> None:
    rng = np.random.default_rng(3)
    store = SqliteContexts(tmp_path / "c.sqlite") if durable else MemoryContexts(10)
    join = FeedbackJoin(ttl_s=3 * 3600.0, store=store)
    contexts = [context(i, rng, seconds=i * 60.0) for i in range(5)]
    for ctx in contexts:
        assert join.add_context(ctx) is None
    joined = join.add_reward("d-2", 0.7, when(contexts[2], 3 * 3600.0 - 1))  # 3 h later: still waiting
    assert joined is not None and joined.context == contexts[2] and joined.reward == 0.7
    assert join.add_reward("d-2", 0.7, when(contexts[2], 3 * 3600.0)) is None  # a replayed copy
    assert join.add_context(contexts[2]) is None and join.stats.duplicates == 2
    assert join.stats.joined == 1
    late = context(9, rng, seconds=400.0)  # its reward first, then the context: joined at once
    assert join.add_reward("d-9", 0.1, when(late, 3600)) is None
    assert join.add_context(late) is not None
    assert ("d-9" in store) is durable  # kept where a restart that re-reads the reward can find it again


def test_a_join_ttl_shorter_than_the_rewards_delay_is_refused() -> None:
    defaults = Settings()
    assert check_join_ttl(defaults) == pytest.approx(3 * 3600 + 5 + 300)  # early: 3 h window + backward + lateness
    with pytest.raises(SettingsError, match="shorter than the early reward's delay"):
        check_join_ttl(dataclasses.replace(defaults, learn=LearnConfig(join_ttl_s=7200.0)))
    composite = dataclasses.replace(defaults, learn=LearnConfig(reward="composite"))
    with pytest.raises(SettingsError, match="composite"):
        check_join_ttl(composite)  # 7 days of retention
    short = AttributionSettings(retention_window_s=600.0, satisfaction_window_s=600.0, penalty_window_s=600.0)
    demo_like = dataclasses.replace(
        composite, attribution=short, decide=dataclasses.replace(defaults.decide, attribution_window_s=600)
    )
    assert check_join_ttl(demo_like) == pytest.approx(600 + 5 + 300)
