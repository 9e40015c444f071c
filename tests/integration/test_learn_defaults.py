"""The learner with the production defaults, on the real broker: the attribution stage (default windows: 3 h for value
and conversion, 7 days for retention) publishes each decision's ``early`` reward ~3 h after it, the learner joins it
with the decision's context from its SQLite store and learns — days before any composite could close — and a
restarted learner resumes the contexts topic from the store's offsets instead of from the beginning."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

from kairos.serving import learn_stage, policy_parts
from kairos.settings import Settings
from schemas.codec import StructDecoder, encode
from schemas.contexts import DecisionContext
from schemas.decisions import Decision
from schemas.rewards import Reward, RewardComponent
from serving.learning import JoinStats, SqliteContexts, is_holdout
from streams.reader import read_topic
from tests.integration.kafka_io import produce_all
from tests.integration.test_attribution_agent import produce, run_stage
from tests.unit.test_attribution_kit import Record, decision, impression, page_view, purchase

pytestmark = pytest.mark.integration

N = 120
K = 4
WINDOW_S = Settings().decide.attribution_window_s  # what the decision stage stamps on decisions by default


def _world(settings: Settings) -> tuple[list[Record], list[DecisionContext]]:
    """One shown decision per user (its context: K random candidates, one chosen); the user buys 40 minutes later
    exactly when the chosen candidate's first feature is above 0.5; 4 h later every user comes back (the clock)."""
    encoder = policy_parts(settings).encoder
    rng = np.random.default_rng(11)
    records: list[Record] = []
    contexts: list[DecisionContext] = []
    for i in range(N):
        user, session, d, t = f"u{i}", f"s{i}", f"d{i}", float(i)
        made = decision(d, t, user=user, session=session, window_s=WINDOW_S)
        candidates = rng.uniform(size=(K, encoder.action_dim))
        chosen = int(rng.integers(0, K))
        records += [made, impression(f"i{i}", t + 1, d, user=user, session=session)]
        if candidates[chosen, 0] > 0.5:
            records += [purchase(f"p{i}", t + 2400, user=user, session=session)]
        records += [page_view(f"clock-{i}", t + 4 * 3600, user=user, session=f"later-{i}")]
        contexts.append(
            DecisionContext(
                decision_id=d,
                key=user,
                event_time=made.event_time,
                schema_version=1,
                session_id=session,
                policy_name="neural_bandit",
                policy_version="neural_bandit-u0",
                policy_source="triton",
                state=rng.uniform(size=encoder.state_dim).tolist(),
                candidates=candidates.tolist(),
                mask=[True] * K,
                chosen=chosen,
                propensity=1.0 / K,
            )
        )
    records.sort(key=lambda r: r.event_time)
    return records, contexts


def _learn_until(
    settings: Settings, updates: int, *, timeout_s: float = 120.0
) -> tuple[int, int, list[float], JoinStats]:
    """Run a fresh learner until it made ``updates`` updates (or the time is up); returns its updates, joins, the
    candidate's weights and the join's counters."""
    stage = learn_stage(settings)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while stage.learner.updates < updates and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.2)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()
    weights = torch.nn.utils.parameters_to_vector(stage.learner.candidate.scorer.parameters()).tolist()
    return stage.learner.updates, stage.learner.join.stats.joined, weights, stage.learner.join.stats


def test_the_learner_learns_from_early_rewards_with_the_default_windows(topics: Settings) -> None:
    settings = topics
    assert settings.learn.reward == "early" and settings.learn.contexts_store == "sqlite"
    records, contexts = _world(settings)
    decisions, events = produce(settings, records, [])
    produce_all(settings.kafka, settings.topics.decision_contexts, [(c.key.encode(), encode(c)) for c in contexts])
    run_stage(settings, decisions, events, timeout_s=120)

    rewards = [
        StructDecoder(Reward).decode(m.value() or b"")
        for m in read_topic(settings.kafka, settings.topics.rewards, settings.topics.partitions)
    ]
    made = {d.decision_id: d for d in records if isinstance(d, Decision)}
    early = {r.decision_id: r for r in rewards if r.component is RewardComponent.EARLY}
    assert set(early) == set(made)  # every decision's early reward, ~3 h after it
    for decision_id, reward in early.items():
        assert reward.event_time == made[decision_id].event_time + timedelta(seconds=WINDOW_S)
    assert not [r for r in rewards if r.component is RewardComponent.COMPOSITE]  # retention's 7 days are not over
    bought = {r.decision_id for r in rewards if r.component is RewardComponent.CONVERSION and r.value == 1.0}
    assert bought and {d for d in bought if early[d].value > 0.5} == bought

    initial = torch.nn.utils.parameters_to_vector(policy_parts(settings).policy.scorer.parameters()).tolist()
    learned = sum(not is_holdout(d, settings.learn.holdout) for d in made)
    updates, joined, weights, stats = _learn_until(settings, learned)
    assert (updates, joined) == (learned, N)
    assert weights != initial

    # A restart resumes the contexts where the store's committed offsets end (nothing of the topic is re-read) and,
    # with no promoted checkpoint, the rewards from the beginning: it joins them with the stored contexts again.
    store = SqliteContexts(Path(settings.worker.data_dir) / "learn" / "contexts.sqlite")
    assert sum(store.positions().values()) == N and len(store) == N, (store.positions(), len(store), stats)
    store.close()
    assert _learn_until(settings, learned)[:2] == (learned, N)
