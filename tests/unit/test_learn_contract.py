"""Every learning policy, driven through the learner: feedback moves its scores toward the rewarded action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest

from schemas.contexts import DecisionContext
from serving.learning import LearnerConfig, OnlineLearner
from serving.policy import DQNPolicy, NeuralBandit, Policy, PPOPolicy
from tests.unit.learn_support import T0, A, K, S

FACTORIES: dict[str, Callable[[], Policy]] = {
    "neural_bandit": lambda: NeuralBandit(S, A, hidden=(16,), seed=3),
    "dqn": lambda: DQNPolicy(S, A, hidden=(16,), batch_size=8, learning_rate=1e-2, discount=0.0, seed=3),
    "ppo": lambda: PPOPolicy(S, A, hidden=(16,), batch_size=16, learning_rate=1e-2, seed=3),
}

RNG = np.random.default_rng(11)
STATE = RNG.normal(size=S).astype(np.float32)
CANDIDATES = RNG.normal(size=(K, A)).astype(np.float32)
MASK = np.ones(K, dtype=np.bool_)


def _context(i: int, chosen: int) -> DecisionContext:
    return DecisionContext(
        decision_id=f"d-{i}",
        key="u-1",
        event_time=T0 + timedelta(seconds=i),
        schema_version=1,
        session_id="s-1",
        policy_name="p",
        policy_version="p-0",
        policy_source="triton",
        state=STATE.tolist(),
        candidates=CANDIDATES.tolist(),
        mask=[True] * K,
        chosen=chosen,
        propensity=1.0 / K,
    )


def _gap(policy: Policy) -> float:
    """How far the rewarded candidate 0 scores above the best other one."""
    scores = policy.scores(STATE[None], CANDIDATES[None], MASK[None])[0]
    return float(scores[0] - scores[1:].max())


def _preference(policy: Policy) -> float:
    scores = policy.scores(STATE[None], CANDIDATES[None], MASK[None])[0]
    return float(policy.choose(scores, MASK, 0)[1][0])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_learn_one_moves_scores_toward_the_rewarded_action(name: str) -> None:
    learner = OnlineLearner(FACTORIES[name](), LearnerConfig(holdout=0.0))
    gap, preference = _gap(learner.candidate), _preference(learner.candidate)
    for i in range(192):
        chosen = i % K  # logged uniformly; only candidate 0 pays
        learner.observe_context(_context(i, chosen))
        learner.observe_reward(f"d-{i}", 1.0 if chosen == 0 else 0.0, float(i))
    assert learner.updates == 192
    assert _gap(learner.candidate) > gap
    assert _preference(learner.candidate) > preference
    assert _gap(learner.incumbent) == gap  # the serving copy does not move until promoted
