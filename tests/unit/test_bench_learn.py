"""The reference learners of ``kairos bench learn`` (VW, River LinUCB) and the benchmark's output."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import orjson
import pytest
from click.testing import CliRunner

from bench.learners import RiverLinUCBPolicy, VowpalWabbitPolicy, action_type_index
from kairos.cli import cli
from serving.policy import MASKED_SCORE, Feedback, Policy, StateEncoder
from serving.policy.exploration import seed_for

ENCODER = StateEncoder()
S, A, K = ENCODER.state_dim, ENCODER.action_dim, 6


def _batch(seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    state = rng.random((1, S), dtype=np.float32)
    candidates = rng.random((1, K, A), dtype=np.float32)
    candidates[0, :, :7] = 0.0
    for k in range(K):
        candidates[0, k, k % 7] = 1.0  # one action type each
    mask = np.ones((1, K), dtype=np.bool_)
    mask[0, -1] = False  # padding
    return state, candidates, mask


def _policies() -> list[Policy]:
    return [VowpalWabbitPolicy(seed=1), RiverLinUCBPolicy(seed=1)]


@pytest.mark.parametrize("policy", _policies(), ids=lambda p: p.name)
def test_adapters_are_policies_with_exact_propensities(policy: Policy) -> None:
    assert isinstance(policy, Policy)
    for seed in range(12):
        state, candidates, mask = _batch(seed)
        scores = policy.scores(state, candidates, mask)
        assert scores.shape == (1, K)
        assert scores[0, -1] == MASKED_SCORE
        guarded = mask[0].copy()
        guarded[seed % (K - 1)] = False  # a guardrail masks one more
        index, propensities = policy.choose(scores[0], guarded, seed_for(f"d-{seed}"))
        assert guarded[index]
        assert propensities.sum() == pytest.approx(1.0, abs=1e-12)
        assert (propensities[~guarded] == 0.0).all()
        assert propensities[index] > 0.0
        policy.learn_one(Feedback(state[0], candidates[0], guarded, index, 1.0, float(propensities[index])))
    assert policy.version.endswith("-u12")


@pytest.mark.parametrize("policy", _policies(), ids=lambda p: p.name)
def test_adapters_learn_to_prefer_the_rewarded_action(policy: Policy) -> None:
    state, candidates, mask = _batch(0)
    for t in range(300):
        scores = policy.scores(state, candidates, mask)
        index, propensities = policy.choose(scores[0], mask[0], seed_for(f"d-{t}"))
        reward = 1.0 if index == 2 else 0.0
        policy.learn_one(Feedback(state[0], candidates[0], mask[0], index, reward, float(propensities[index])))
    scores = policy.scores(state, candidates, mask)
    _, propensities = policy.choose(scores[0], mask[0], seed_for("d-final"))
    assert int(np.argmax(propensities)) == 2


def test_vw_repredicts_when_the_guardrails_mask_more() -> None:
    policy = VowpalWabbitPolicy(seed=3)
    state, candidates, mask = _batch(1)
    scores = policy.scores(state, candidates, mask)
    guarded = mask[0].copy()
    guarded[:3] = False
    _, propensities = policy.choose(scores[0], guarded, 7)
    again = policy.scores(state, candidates, guarded[None])
    assert propensities[guarded] == pytest.approx(again[0, guarded])


def test_action_type_of_a_candidate() -> None:
    _, candidates, _ = _batch(0)
    assert [action_type_index(c) for c in candidates[0]] == [0, 1, 2, 3, 4, 5]


def test_bench_learn_prints_one_json_line_on_stdout() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "learn", "--shoppers", "30", "--duration", "900", "--window", "300"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()  # progress and log lines go to stderr
    headline = orjson.loads(line)
    for key in (
        "kairos_events_per_s",
        "vw_events_per_s",
        "river_events_per_s",
        "kairos_reward",
        "vw_reward",
        "river_reward",
        "oracle_reward",
    ):
        assert isinstance(headline[key], float), key
    assert headline["kairos_events_per_s"] > 0 and all(n > 0 for n in headline["decisions"].values())
    learners = headline["learners"]
    assert set(learners) == {"kairos", "vw", "river"}
    assert all(f["learned"] == f["decisions"] for f in learners.values())
