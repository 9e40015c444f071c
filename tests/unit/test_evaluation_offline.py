"""Offline learning from logs + off-policy evaluation on held-out rounds, on a synthetic logged bandit whose best
action per context is known: the path ``kairos bench obd`` runs on the Open Bandit Dataset."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from kairos.evaluation.offline import LoggedRounds, evaluate, feedback, learn, on_policy_value, score, top_k
from serving.ope import IntervalSpec, OPEConfigError
from serving.policy import NeuralBandit
from tests.unit.offline_support import one_thread  # noqa: F401  (autouse fixture)

CONTEXTS, ACTIONS = 4, 5
BEST = np.array([3, 0, 4, 1])  # the best action of each context
P_BEST, P_OTHER = 0.8, 0.2
N_TRAIN, N_TEST = 2000, 2000
SPEC = IntervalSpec(n_bootstrap=500, seed=7)


def synthetic(seed: int) -> tuple[LoggedRounds, npt.NDArray[np.int64]]:
    """Uniform-random logs: context one-hot states; candidates ``[action one-hot ; context ⊗ action]``."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    contexts = rng.integers(0, CONTEXTS, n)
    actions = rng.integers(0, ACTIONS, n)
    p_click = np.where(actions == BEST[contexts], P_BEST, P_OTHER)
    rewards = (rng.random(n) < p_click).astype(np.float64)
    states = np.eye(CONTEXTS, dtype=np.float32)[contexts]
    eye = np.eye(ACTIONS, dtype=np.float32)

    def candidates(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        s = states[rows]
        inter = (s[:, None, :, None] * eye[None, :, None, :]).reshape(rows.shape[0], ACTIONS, -1)
        return np.concatenate([np.broadcast_to(eye, (rows.shape[0], ACTIONS, ACTIONS)), inter], axis=2)

    pscores = np.full(n, 1.0 / ACTIONS)
    return LoggedRounds(states, candidates, actions, rewards, pscores, ACTIONS), contexts


def trained(rounds: LoggedRounds, seed: int = 0, n: int = N_TRAIN) -> NeuralBandit:
    policy = NeuralBandit(CONTEXTS, ACTIONS + CONTEXTS * ACTIONS, hidden=(), learning_rate=1e-2, seed=seed)
    learn(policy, rounds, np.arange(n))
    return policy


def test_the_offline_learner_recovers_the_best_action_and_ope_values_it() -> None:
    rounds, contexts = synthetic(seed=1)
    test = np.arange(N_TRAIN, N_TRAIN + N_TEST)
    scores = score(trained(rounds), rounds, test)
    value = evaluate(rounds, test, scores, 1, SPEC)
    assert (value.action_dist.argmax(axis=1) == BEST[contexts[test]]).all()
    matched = rounds.actions[test] == BEST[contexts[test]]
    assert value.matches == matched.sum() and value.matched_reward == rounds.rewards[test][matched].sum()
    uniform = P_BEST / ACTIONS + P_OTHER * (ACTIONS - 1) / ACTIONS
    for name in ("ipw", "snipw", "dr"):
        estimate = value.estimates[name]
        assert estimate.value == pytest.approx(P_BEST, abs=0.08), name
        assert estimate.interval.lower > uniform, name
    random_value, _, random_upper = on_policy_value(rounds.rewards[test], SPEC)
    assert random_value == pytest.approx(uniform, abs=0.05)
    assert random_upper < value.estimates["dr"].interval.lower


def test_learning_is_deterministic_and_starts_from_the_seed() -> None:
    rounds, _ = synthetic(seed=2)
    rows = np.arange(N_TRAIN, N_TRAIN + 50)
    same = score(trained(rounds, seed=3, n=300), rounds, rows), score(trained(rounds, seed=3, n=300), rounds, rows)
    assert np.array_equal(*same)
    untrained = NeuralBandit(CONTEXTS, ACTIONS + CONTEXTS * ACTIONS, hidden=(), learning_rate=1e-2, seed=3)
    assert not np.array_equal(same[0], score(untrained, rounds, rows))


def test_feedback_carries_the_logged_round() -> None:
    rounds, _ = synthetic(seed=3)
    rows = np.array([5, 0, 9])
    records = list(feedback(rounds, rows))
    assert [r.chosen for r in records] == rounds.actions[rows].tolist()
    assert [r.reward for r in records] == rounds.rewards[rows].tolist()
    for r, i in zip(records, rows, strict=True):
        assert r.candidates.shape == (ACTIONS, ACTIONS + CONTEXTS * ACTIONS) and r.mask.all()
        assert np.array_equal(r.state, rounds.states[i])
        assert r.propensities is not None and r.propensities.sum() == pytest.approx(1.0)


def test_top_k_spreads_over_the_best_and_checks_k() -> None:
    dist = top_k(np.array([[0.1, 0.4, 0.3, 0.4]]), 2)
    assert dist.tolist() == [[0.0, 0.5, 0.0, 0.5]]
    with pytest.raises(OPEConfigError):
        top_k(np.zeros((1, 3)), 4)
