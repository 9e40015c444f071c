"""Learner specifics: DQN target sync and TD targets, the stratified replay buffer, PPO clipping, bandit weighting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from serving.policy import (
    DEFAULT_REPLAY_CAPACITY,
    DEFAULT_TARGET_SYNC,
    DQNPolicy,
    Feedback,
    NeuralBandit,
    PolicyConfigError,
    PolicyDivergedError,
    PolicyInputError,
    PPOPolicy,
    StratifiedReplayBuffer,
    Transition,
    UnknownStratumError,
)

S, A = 6, 4
RNG = np.random.default_rng(0)
STATE = RNG.normal(size=S).astype(np.float32)
CANDIDATES = RNG.normal(size=(3, A)).astype(np.float32)
MASK = np.ones(3, dtype=np.bool_)


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_dqn_defaults_follow_the_source() -> None:
    policy = DQNPolicy(S, A)
    assert policy.target_sync == DEFAULT_TARGET_SYNC == 1_000
    assert sum(policy.buffer.capacities.values()) == DEFAULT_REPLAY_CAPACITY == 50_000


def test_dqn_target_syncs_every_1000_gradient_steps() -> None:
    policy = DQNPolicy(S, A, hidden=(4,), batch_size=1, learning_rate=1e-2, seed=2)
    assert _same(_params(policy.scorer), _params(policy.target))
    for step in range(1, 2_101):
        policy.learn_one(Feedback(STATE, CANDIDATES, MASK, step % 3, float(step % 5), 0.5))  # never converges
        assert policy.steps == step
        assert policy.target_syncs == step // 1_000
        in_sync = _same(_params(policy.scorer), _params(policy.target))
        assert in_sync == (step % 1_000 == 0), f"step {step}"


def test_dqn_td_target_uses_the_target_network_over_allowed_next_candidates() -> None:
    policy = DQNPolicy(S, A, hidden=(8,), batch_size=1, discount=0.5, seed=4)
    with torch.no_grad():  # make the target differ from the online network
        for p in policy.target.parameters():
            p.add_(0.3)
    next_mask = np.array([True, False, True])
    feedback = Feedback(STATE, CANDIDATES, MASK, 2, 1.5, 0.5, "all", STATE * 2, CANDIDATES * -1, next_mask)
    policy.buffer.add(Transition.from_feedback(feedback))
    with torch.no_grad():
        q_next = policy.target.pairs(torch.from_numpy(STATE * 2)[None], torch.from_numpy(CANDIDATES * -1)[None])[0]
        target = 1.5 + 0.5 * q_next[torch.from_numpy(next_mask)].max()
        q = policy.scorer.pair(torch.from_numpy(np.concatenate([STATE, CANDIDATES[2]])))
        expected = float(functional.smooth_l1_loss(q, target))
    assert policy.train_step() == pytest.approx(expected, rel=1e-5)


def test_replay_batches_keep_the_declared_proportions_whatever_the_traffic() -> None:
    buffer = StratifiedReplayBuffer({"a": 0.5, "b": 0.3, "c": 0.2}, capacity=1_000, seed=1)
    rewards = {"a": 0.0, "b": 1.0, "c": 2.0}
    for stratum, n in (("a", 2_000), ("b", 40), ("c", 7)):
        for _ in range(n):
            buffer.add(Transition(STATE, CANDIDATES[0], rewards[stratum]), stratum)
    assert buffer.counts() == {"a": 500, "b": 40, "c": 7}
    assert buffer.allocation(10) == {"a": 5, "b": 3, "c": 2}
    assert buffer.allocation(32) == {"a": 16, "b": 10, "c": 6}
    for _ in range(20):
        batch = buffer.sample(10)
        assert [s for s, _ in batch] == ["a"] * 5 + ["b"] * 3 + ["c"] * 2
        assert all(t.reward == rewards[s] for s, t in batch)


def test_replay_spreads_the_share_of_empty_strata_and_rings_overwrite_the_oldest() -> None:
    buffer = StratifiedReplayBuffer({"a": 0.5, "b": 0.3, "c": 0.2}, capacity=10)
    assert buffer.sample(8) == []
    for i in range(12):
        buffer.add(Transition(STATE, CANDIDATES[0], float(i)), "a")
    buffer.add(Transition(STATE, CANDIDATES[0], 99.0), "c")
    assert buffer.allocation(7) == {"a": 5, "b": 0, "c": 2}
    assert sorted(t.reward for t in buffer._rings["a"]) == [7.0, 8.0, 9.0, 10.0, 11.0]
    with pytest.raises(UnknownStratumError):
        buffer.add(Transition(STATE, CANDIDATES[0], 0.0), "d")
    with pytest.raises(PolicyConfigError):
        StratifiedReplayBuffer({"a": 0.0})


def test_replay_sampling_is_seeded() -> None:
    def rewards(seed: int) -> list[float]:
        buffer = StratifiedReplayBuffer(capacity=100, seed=seed)
        for i in range(50):
            buffer.add(Transition(STATE, CANDIDATES[0], float(i)))
        return [t.reward for _, t in buffer.sample(16)]

    assert rewards(3) == rewards(3) != rewards(4)


def test_ppo_learns_in_batches() -> None:
    policy = PPOPolicy(S, A, hidden=(8,), batch_size=4)
    for i in range(3):
        policy.learn_one(Feedback(STATE, CANDIDATES, MASK, i % 3, 1.0, 0.3))
    assert policy.updates == 0 and len(policy.pending) == 3
    policy.learn_one(Feedback(STATE, CANDIDATES, MASK, 0, 1.0, 0.3))
    assert policy.updates == 1 and policy.pending == []


def test_ppo_clip_stops_the_actor_when_the_ratio_is_far_out() -> None:
    policy = PPOPolicy(S, A, hidden=(8,), entropy_coef=0.0, normalize_advantages=False, seed=5)
    actor, critic = _params(policy.scorer), _params(policy.critic)
    # logged propensity 1e-4 makes ratio >> 1 + clip with a positive advantage: the clipped term has no gradient
    policy.learn_many([Feedback(STATE, CANDIDATES, MASK, i % 3, 10.0, 1e-4) for i in range(6)])
    assert _same(actor, _params(policy.scorer))
    assert not _same(critic, _params(policy.critic))
    policy.learn_many([Feedback(STATE, CANDIDATES, MASK, i % 3, 10.0, 0.34) for i in range(6)])
    assert not _same(actor, _params(policy.scorer))


def _learn(bandit: NeuralBandit, reward: float, propensity: float = 1.0) -> float:
    """One step on the first candidate of the shared decision; the loss before it."""
    return bandit.learn_many([Feedback(STATE, CANDIDATES, MASK, 0, reward, propensity)])


def test_bandit_gamma_grows_with_updates() -> None:
    bandit = NeuralBandit(S, A, hidden=(8,), gamma=4.0, gamma_growth=0.5)
    assert bandit.exploration_gamma == 4.0
    for _ in range(3):
        _learn(bandit, 1.0)
    assert bandit.exploration_gamma == pytest.approx(8.0)
    fixed = NeuralBandit(S, A, hidden=(8,), gamma=4.0, gamma_growth=0.0)
    _learn(fixed, 1.0)
    assert fixed.exploration_gamma == 4.0


def test_bandit_importance_weights_are_clipped_inverse_propensities() -> None:
    plain = NeuralBandit(S, A, hidden=(8,), seed=1)
    weighted = NeuralBandit(S, A, hidden=(8,), seed=1, importance_weighting=True, max_weight=5.0)
    base = _learn(plain, 1.0, propensity=0.5)
    assert _learn(weighted, 1.0, propensity=0.5) == pytest.approx(2 * base, rel=1e-6)
    again = NeuralBandit(S, A, hidden=(8,), seed=1, importance_weighting=True, max_weight=5.0)
    assert _learn(again, 1.0, propensity=0.01) == pytest.approx(5 * base, rel=1e-6)


def _largest_step(optimizer: str, reward: float) -> float:
    bandit = NeuralBandit(S, A, hidden=(8,), optimizer=optimizer, learning_rate=0.01, seed=1)  # type: ignore[arg-type]
    before = _params(bandit.scorer)
    _learn(bandit, reward)
    return max(float((a - b).abs().max()) for a, b in zip(_params(bandit.scorer), before, strict=True))


def test_bandit_adam_steps_are_bounded_whatever_the_reward_scale() -> None:
    """The default optimiser: one outlying reward moves no weight by more than the step (Adam's first step is
    ``lr * sign(grad)``), where plain SGD's step grows with the error."""
    assert _largest_step("adam", 1.0) == pytest.approx(0.01, rel=1e-3)
    assert _largest_step("adam", 1000.0) == pytest.approx(0.01, rel=1e-3)
    assert _largest_step("sgd", 1000.0) > 100 * _largest_step("sgd", 1.0)


def test_bandit_learn_many_is_one_step_over_the_batch_and_refuses_bad_input() -> None:
    batch = [Feedback(STATE, CANDIDATES, MASK, i, float(i), 0.5) for i in range(3)]
    alone = [NeuralBandit(S, A, hidden=(8,), seed=1).learn_many([f]) for f in batch]  # each from the same weights
    many = NeuralBandit(S, A, hidden=(8,), seed=1)
    assert many.learn_many(batch) == pytest.approx(sum(alone) / len(alone), rel=1e-5)
    assert many.updates == 1
    wide = np.ones(S + 1, dtype=np.float32)
    for bad in ([], [Feedback(wide, CANDIDATES, MASK, 0, 1.0, 1.0)]):
        with pytest.raises(PolicyInputError):
            many.learn_many(bad)
    assert many.updates == 1


def test_a_non_finite_loss_is_refused_and_learns_nothing() -> None:
    bandit = NeuralBandit(S, A, hidden=(8,))
    before = _params(bandit.scorer)
    with pytest.raises(PolicyDivergedError):
        _learn(bandit, 1e30)
    assert _same(before, _params(bandit.scorer)) and bandit.updates == 0


@pytest.mark.parametrize(
    "build",
    [
        lambda: NeuralBandit(S, A, learning_rate=0.0),
        lambda: NeuralBandit(S, A, gamma=-1.0),
        lambda: NeuralBandit(S, A, optimizer="rmsprop"),  # type: ignore[arg-type]
        lambda: DQNPolicy(S, A, discount=1.0),
        lambda: DQNPolicy(S, A, exploration="ucb"),  # type: ignore[arg-type]
        lambda: DQNPolicy(S, A, target_sync=0),
        lambda: PPOPolicy(S, A, clip=0.0),
        lambda: PPOPolicy(S, A, hidden=(0,)),
    ],
)
def test_bad_parameters_raise(build: object) -> None:
    with pytest.raises(PolicyConfigError):
        build()  # type: ignore[operator]
