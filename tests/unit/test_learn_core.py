"""The learner core: holdout split, proposal cadence, and the gate's verdicts on clearly better, equal and worse."""

from __future__ import annotations

import copy

import numpy as np
import numpy.typing as npt
import pytest
import torch

from serving.learning import LearnerConfig, LearningConfigError, OnlineLearner, Round, compare, is_holdout
from serving.policy import Feedback, NeuralBandit, greedy_propensities
from tests.unit.learn_support import A, S, context, reward_of, when


class FeatureRule:
    """A fixed policy: greedy on ``sign * candidate[0]`` (``sign=1`` is the best policy of the synthetic world)."""

    name = "feature_rule"

    def __init__(self, sign: float) -> None:
        self.sign = sign

    @property
    def version(self) -> str:
        return f"feature_rule-{self.sign}"

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        return np.where(mask, self.sign * candidates[:, :, 0], -1e9).astype(np.float64)

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        propensities = greedy_propensities(scores, mask)
        return int(np.argmax(propensities)), propensities

    def learn_one(self, feedback: Feedback) -> None:
        return None


def _rounds(n: int, seed: int = 0) -> list[Round]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ctx = context(i, rng)
        out.append(Round(ctx, reward_of(ctx)))
    return out


def _bandit() -> NeuralBandit:
    return NeuralBandit(S, A, hidden=(16,), learning_rate=0.05, seed=1)


def test_the_gate_promotes_a_clearly_better_policy() -> None:
    verdict = compare(FeatureRule(1.0), FeatureRule(-1.0), _rounds(400), margin=0.1, confidence=0.95)
    assert verdict.promote and verdict.lower_bound > 0.1


@pytest.mark.parametrize("candidate", [-1.0, 1.0])
def test_the_gate_keeps_the_incumbent_against_a_worse_or_equal_one(candidate: float) -> None:
    verdict = compare(FeatureRule(candidate), FeatureRule(1.0), _rounds(400), margin=0.0, confidence=0.95)
    assert not verdict.promote


def test_a_better_candidate_by_less_than_the_margin_is_not_promoted() -> None:
    rounds = _rounds(400)
    clear = compare(FeatureRule(1.0), FeatureRule(-1.0), rounds, margin=0.0, confidence=0.95)
    verdict = compare(FeatureRule(1.0), FeatureRule(-1.0), rounds, margin=clear.difference + 0.1, confidence=0.95)
    assert clear.promote and not verdict.promote


def test_holdout_is_a_stable_share_of_decision_ids() -> None:
    ids = [f"d-{i}" for i in range(4000)]
    share = sum(is_holdout(d, 0.25) for d in ids) / len(ids)
    assert abs(share - 0.25) < 0.03
    assert [is_holdout(d, 0.25) for d in ids] == [is_holdout(d, 0.25) for d in ids]
    assert not any(is_holdout(d, 0.0) for d in ids)


def test_the_candidate_learns_only_from_rounds_outside_the_holdout() -> None:
    learner = OnlineLearner(_bandit(), LearnerConfig(min_samples=2, eval_window=10_000, holdout=0.3))
    rng = np.random.default_rng(0)
    for i in range(300):
        ctx = context(i, rng)
        learner.observe_context(ctx)
        learner.observe_reward(ctx.decision_id, reward_of(ctx), when(ctx))
    held = sum(is_holdout(f"d-{i}", 0.3) for i in range(300))
    assert len(learner.evaluation) == held
    assert learner.updates == learner.candidate.updates == 300 - held
    assert learner.incumbent.updates == 0  # the incumbent is frozen until a promotion


def test_the_learner_never_mutates_the_callers_policy() -> None:
    policy = _bandit()
    before = copy.deepcopy(policy.scorer.state_dict())
    learner = OnlineLearner(policy, LearnerConfig(min_samples=2, eval_window=10))
    rng = np.random.default_rng(0)
    for i in range(20):
        ctx = context(i, rng)
        learner.observe_context(ctx)
        learner.observe_reward(ctx.decision_id, 1.0, when(ctx))
    after = policy.scorer.state_dict()
    assert policy.updates == 0 and all(bool((before[k] == after[k]).all()) for k in before)


def _feed(learner: OnlineLearner[NeuralBandit], start: int, n: int, rng: np.random.Generator) -> float:
    now = 0.0
    for i in range(start, start + n):
        ctx = context(i, rng)
        learner.observe_context(ctx)
        learner.observe_reward(ctx.decision_id, reward_of(ctx), when(ctx))
        now = when(ctx)
    return now


def test_proposals_come_every_n_updates() -> None:
    config = LearnerConfig(propose_every=50, propose_interval_s=1e9, min_samples=5, eval_window=1000, holdout=0.2)
    learner = OnlineLearner(_bandit(), config)
    rng = np.random.default_rng(0)
    i, proposals = 0, list[int]()
    while len(proposals) < 3:
        now = _feed(learner, i, 1, rng)
        i += 1
        proposal = learner.propose(now)
        if proposal is not None:
            proposals.append(learner.updates)
    assert proposals == [50, 100, 150]


def test_proposals_come_after_the_interval_when_updates_are_few() -> None:
    config = LearnerConfig(propose_every=10**6, propose_interval_s=100.0, min_samples=5, eval_window=1000)
    learner = OnlineLearner(_bandit(), config)
    rng = np.random.default_rng(0)
    now = _feed(learner, 0, 50, rng)  # event times 0..49 s after the start
    assert learner.propose(now) is None
    start = context(0, np.random.default_rng(0)).event_time.timestamp()  # the interval counts from the first update
    assert learner.propose(start + 99.0) is None
    assert learner.propose(start + 101.0) is not None
    assert learner.propose(start + 102.0) is None  # nothing learned since


def test_nothing_is_proposed_before_min_samples() -> None:
    config = LearnerConfig(propose_every=1, min_samples=500, eval_window=1000, holdout=0.2)
    learner = OnlineLearner(_bandit(), config)
    now = _feed(learner, 0, 200, np.random.default_rng(0))
    assert learner.propose(now) is None and learner.propose(now, force=True) is None


def test_a_learned_candidate_is_promoted_and_becomes_the_incumbent() -> None:
    config = LearnerConfig(propose_every=10**6, min_samples=100, eval_window=2000, holdout=0.25, margin=0.05)
    learner = OnlineLearner(_bandit(), config)
    now = _feed(learner, 0, 1600, np.random.default_rng(0))
    proposal = learner.propose(now, force=True)
    assert proposal is not None and proposal.promoted, proposal
    assert proposal.model_version == learner.model_version == 2
    assert proposal.incumbent_version == "neural_bandit-u0"
    assert learner.incumbent.version == proposal.candidate_version == learner.candidate.version
    assert learner.incumbent is not learner.candidate
    again = learner.propose(now, force=True)  # the same weights against themselves: nothing to gain
    assert again is not None and not again.promoted and learner.model_version == 2


@pytest.mark.parametrize(("baseline_sign", "promoted"), [(-1.0, True), (1.0, False)])
def test_a_candidate_must_also_beat_the_baseline(baseline_sign: float, promoted: bool) -> None:
    """Against a bad baseline the learned candidate is promoted as before; against the best policy of the world
    (which it approaches but cannot beat) it is kept out although it beats the untrained incumbent."""
    config = LearnerConfig(propose_every=10**6, min_samples=100, eval_window=2000, holdout=0.25, margin=0.05)
    learner = OnlineLearner(_bandit(), config, baseline=FeatureRule(baseline_sign))
    now = _feed(learner, 0, 1600, np.random.default_rng(0))
    proposal = learner.propose(now, force=True)
    assert proposal is not None and proposal.decision.promote  # it beats the incumbent either way
    assert proposal.baseline is not None and proposal.promoted is promoted
    assert learner.model_version == (2 if promoted else 1) == proposal.model_version
    assert "vs rules" in proposal.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"propose_every": 0},
        {"holdout": 1.0},
        {"margin": -0.1},
        {"confidence": 1.0},
        {"min_samples": 10, "eval_window": 5},
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(LearningConfigError):
        LearnerConfig(**kwargs)  # type: ignore[arg-type]


def test_a_diverged_candidate_restarts_from_the_incumbent() -> None:
    config = LearnerConfig(propose_every=10**6, min_samples=20, eval_window=1000, holdout=0.25)
    learner = OnlineLearner(_bandit(), config)
    now = _feed(learner, 0, 200, np.random.default_rng(0))
    with torch.no_grad():
        for parameter in learner.candidate.scorer.parameters():
            parameter.fill_(float("nan"))
    assert learner.propose(now, force=True) is None
    assert learner.resets == 1 and learner.candidate is not learner.incumbent
    assert learner.candidate.version == learner.incumbent.version == "neural_bandit-u0"
    assert learner.model_version == 1
