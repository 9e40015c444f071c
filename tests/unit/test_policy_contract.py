"""Contract suite over every policy: shapes, masking, exact propensities, seeded reproducibility, pickling, learning."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.policy import (
    MASKED_SCORE,
    DQNPolicy,
    Feedback,
    NeuralBandit,
    Policy,
    PolicyInputError,
    PPOPolicy,
    RulePolicy,
    StateEncoder,
    StratifiedReplayBuffer,
    decide,
    seed_for,
)

ENC = StateEncoder()
S, A, K = ENC.state_dim, ENC.action_dim, 25

FACTORIES: dict[str, Callable[[], Policy]] = {
    "neural_bandit": lambda: NeuralBandit(S, A, hidden=(32, 32), seed=3),
    "dqn_epsilon": lambda: DQNPolicy(S, A, hidden=(32, 32), epsilon=0.2, seed=3),
    "dqn_boltzmann": lambda: DQNPolicy(S, A, hidden=(32, 32), exploration="boltzmann", temperature=0.05, seed=3),
    "ppo": lambda: PPOPolicy(S, A, hidden=(32, 32), seed=3),
    "rules": lambda: RulePolicy(ENC),
}
NAMES = sorted(FACTORIES)
LEARNERS = [n for n in NAMES if n != "rules"]


@cache
def shared(name: str) -> Policy:
    """One instance per policy for the read-only checks (hypothesis reuses it across examples)."""
    return FACTORIES[name]()


def batch(seed: int, n: int = 3, k: int = K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = rng.normal(size=(n, S)).astype(np.float32)
    candidates = rng.normal(size=(n, k, A)).astype(np.float32)
    mask = rng.random((n, k)) < 0.7
    mask[:, 0] = True
    return state, candidates, mask


@pytest.mark.parametrize("name", NAMES)
def test_is_a_policy_with_a_version(name: str) -> None:
    policy = shared(name)
    assert isinstance(policy, Policy)
    assert policy.version and policy.name


@pytest.mark.parametrize("name", NAMES)
def test_scores_shape_masking_purity(name: str) -> None:
    policy = shared(name)
    state, candidates, mask = batch(1)
    copies = (state.copy(), candidates.copy(), mask.copy())
    scores = policy.scores(state, candidates, mask)
    assert scores.shape == (3, K) and scores.dtype == np.float64
    assert (scores[~mask] == MASKED_SCORE).all()
    assert np.isfinite(scores[mask]).all() and (scores[mask] > MASKED_SCORE).all()
    assert np.array_equal(scores, policy.scores(state, candidates, mask))
    for before, after in zip(copies, (state, candidates, mask), strict=True):
        assert np.array_equal(before, after)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise(name: str) -> None:
    policy = shared(name)
    state, candidates, mask = batch(2)
    with pytest.raises(PolicyInputError):
        policy.scores(state[:, :-1], candidates, mask)
    with pytest.raises(PolicyInputError):
        policy.scores(state, candidates[:, :, :-1], mask)
    with pytest.raises(PolicyInputError):
        policy.scores(state, candidates, mask[:, :-1])


@pytest.mark.parametrize("name", NAMES)
def test_same_decision_id_same_choice_across_instances(name: str) -> None:
    state, candidates, mask = batch(3, n=1)
    first = decide(FACTORIES[name](), state[0], candidates[0], mask[0], "d-42")
    again = decide(FACTORIES[name](), state[0], candidates[0], mask[0], "d-42")
    assert first.index == again.index
    assert np.array_equal(first.propensities, again.propensities)
    assert np.array_equal(first.scores, again.scores)
    assert 0.0 < first.propensity <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_exploring_policies_vary_with_the_decision_id(name: str) -> None:
    state, candidates, mask = batch(4, n=1)
    mask[0, :] = True
    choices = {decide(shared(name), state[0], candidates[0], mask[0], f"d-{i}").index for i in range(200)}
    if name == "rules":
        assert len(choices) == 1  # deterministic, propensity 1
    else:
        assert len(choices) > 1


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(NAMES), data_seed=st.integers(0, 10_000), decision_id=st.text(min_size=1, max_size=40))
def test_propensities_exact_and_masked_never_chosen(name: str, data_seed: int, decision_id: str) -> None:
    policy = shared(name)
    state, candidates, mask = batch(data_seed, n=1)
    rng = np.random.default_rng(data_seed)
    mask[0] = rng.random(K) < rng.uniform(0.05, 1.0)
    mask[0, rng.integers(K)] = True
    choice = decide(policy, state[0], candidates[0], mask[0], decision_id)
    p = choice.propensities
    assert mask[0, choice.index] and p[choice.index] > 0
    assert (p[~mask[0]] == 0.0).all() and (p >= 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    if name == "rules":
        assert choice.propensity == 1.0
    index, again = policy.choose(choice.scores, mask[0], seed_for(decision_id))
    assert index == choice.index and np.array_equal(again, p)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_keeps_scores(name: str) -> None:
    policy = FACTORIES[name]()
    state, candidates, mask = batch(5)
    clone = pickle.loads(pickle.dumps(policy))
    assert np.array_equal(clone.scores(state, candidates, mask), policy.scores(state, candidates, mask))
    assert clone.version == policy.version


@pytest.mark.parametrize("name", LEARNERS)
def test_a_restored_checkpoint_keeps_learning(name: str) -> None:
    """The optimizer still drives the restored network (pickle keeps the parameters shared)."""
    clone = pickle.loads(pickle.dumps(FACTORIES[name]()))
    state, candidates, mask = batch(10, n=1)
    before = clone.scores(state, candidates, mask)
    for i in range(70):
        clone.learn_one(Feedback(state[0], candidates[0], mask[0], 0, float(i % 3), 0.5))
    assert not np.array_equal(before, clone.scores(state, candidates, mask))


def toy_feedback(policy: Policy, rounds: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-policy rounds of a 5-armed toy problem: one context, arm 2 pays 1, the others 0."""
    rng = np.random.default_rng(seed)
    state = rng.normal(size=S).astype(np.float32)
    candidates = rng.normal(size=(5, A)).astype(np.float32)
    mask = np.ones(5, dtype=np.bool_)
    for i in range(rounds):
        choice = decide(policy, state, candidates, mask, f"toy-{seed}-{i}")
        reward = 1.0 if choice.index == 2 else 0.0
        policy.learn_one(Feedback(state, candidates, mask, choice.index, reward, choice.propensity))
    return state, candidates, mask


@pytest.mark.parametrize(
    "factory",
    [
        lambda: NeuralBandit(S, A, hidden=(32, 32), seed=1),
        lambda: DQNPolicy(S, A, hidden=(32, 32), discount=0.0, learning_rate=1e-2, batch_size=16, seed=1),
        lambda: PPOPolicy(S, A, hidden=(32, 32), batch_size=16, learning_rate=1e-2, seed=1),
    ],
    ids=["neural_bandit", "dqn", "ppo"],
)
def test_learning_moves_scores_towards_the_paying_arm(factory: Callable[[], Policy]) -> None:
    policy = factory()
    fresh = factory()
    state, candidates, mask = toy_feedback(policy, rounds=400)
    before = fresh.scores(state[None], candidates[None], mask[None])[0]
    after = policy.scores(state[None], candidates[None], mask[None])[0]
    gap_before = before[2] - np.delete(before, 2).max()
    gap_after = after[2] - np.delete(after, 2).max()
    assert gap_after > gap_before
    assert int(np.argmax(after)) == 2
    p = policy.choose(after, mask, seed=0)[1]
    assert p[2] > 1 / 5  # exploitation grew


@pytest.mark.parametrize("name", LEARNERS)
def test_learning_does_not_mutate_feedback(name: str) -> None:
    policy = FACTORIES[name]()
    state, candidates, mask = batch(6, n=1)
    feedback = Feedback(state[0], candidates[0], mask[0], 0, 1.0, 0.5)
    copies = (state[0].copy(), candidates[0].copy(), mask[0].copy())
    for _ in range(70):  # enough to trigger DQN and PPO updates
        policy.learn_one(feedback)
    for before, after in zip(copies, (feedback.state, feedback.candidates, feedback.mask), strict=True):
        assert np.array_equal(before, after)


def test_feedback_validation() -> None:
    state, candidates, mask = batch(7, n=1)
    with pytest.raises(PolicyInputError):
        Feedback(state[0], candidates[0], mask[0], K, 1.0, 0.5)
    with pytest.raises(PolicyInputError):
        Feedback(state[0], candidates[0], mask[0], 0, 1.0, 0.0)
    with pytest.raises(PolicyInputError):
        Feedback(state[0], candidates[0], mask[0], 0, 1.0, 0.5, next_state=state[0])


def test_rules_ignore_feedback() -> None:
    policy = RulePolicy(ENC)
    state, candidates, mask = batch(8)
    before = policy.scores(state, candidates, mask)
    policy.learn_one(Feedback(state[0], candidates[0], mask[0], 0, 5.0, 1.0))
    assert np.array_equal(before, policy.scores(state, candidates, mask))


def test_stratified_feedback_reaches_its_stratum() -> None:
    buffer = StratifiedReplayBuffer({"new": 0.5, "returning": 0.5}, capacity=100)
    policy = DQNPolicy(S, A, hidden=(8,), buffer=buffer, batch_size=4)
    state, candidates, mask = batch(9, n=1)
    policy.learn_one(Feedback(state[0], candidates[0], mask[0], 1, 0.0, 0.5, stratum="new"))
    assert buffer.counts() == {"new": 1, "returning": 0}
