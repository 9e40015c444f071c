"""Explanations: gradient × input over named state dimensions, top-k, no side effects on the network."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
import torch

from schemas.decisions import FeatureContribution
from serving.policy import (
    ModelScores,
    NeuralBandit,
    PolicyInputError,
    PPOPolicy,
    RulePolicy,
    StateEncoder,
    explain,
    gradient_x_input,
)

ENC = StateEncoder()
S, A = ENC.state_dim, ENC.action_dim
RNG = np.random.default_rng(5)
STATE = RNG.normal(size=S).astype(np.float32)
STATE[3] = 0.0
ACTION = RNG.normal(size=A).astype(np.float32)


def test_linear_scorer_contributions_are_weight_times_value() -> None:
    linear = NeuralBandit(S, A, hidden=(), seed=1)
    weights = linear.scorer.net[0].weight.detach().numpy()[0, :S]
    expected = weights * STATE
    top = explain(linear, STATE, ACTION, ENC.state_names, top_k=4)
    order = np.argsort(-np.abs(expected), kind="stable")[:4]
    assert [c.name for c in top] == [ENC.state_names[i] for i in order]
    for c, i in zip(top, order, strict=True):
        assert c.value == pytest.approx(float(STATE[i]))
        assert c.contribution == pytest.approx(float(expected[i]), rel=1e-5)


def test_contributions_sum_to_the_score_for_a_bias_free_linear_scorer() -> None:
    linear = NeuralBandit(S, A, hidden=(), seed=2)
    with torch.no_grad():
        linear.scorer.net[0].bias.zero_()
    contributions, score = gradient_x_input(linear.scorer, STATE, np.zeros(A, dtype=np.float32))
    assert contributions.sum() == pytest.approx(score, rel=1e-4)


def test_zero_dimensions_are_left_out_and_grads_untouched() -> None:
    policy = PPOPolicy(S, A, seed=3)
    everything = explain(policy, STATE, ACTION, ENC.state_names, top_k=S)
    assert ENC.state_names[3] not in {c.name for c in everything}
    assert len(everything) == S - 1
    magnitudes = [abs(c.contribution) for c in everything]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert all(p.grad is None for p in policy.scorer.parameters())
    assert msgspec.json.decode(msgspec.json.encode(everything), type=list[FeatureContribution]) == everything


def test_rules_explain_their_rule_and_unknown_policies_nothing() -> None:
    state = ENC.encode_state(None, {"exit_intent": True}, ModelScores(), "x")
    assert [c.name for c in explain(RulePolicy(ENC), state, ACTION, ENC.state_names)] == ["rule=exit_intent"]
    assert explain(object(), STATE, ACTION, ENC.state_names) == []


def test_names_must_match_the_state() -> None:
    with pytest.raises(PolicyInputError):
        explain(NeuralBandit(S, A), STATE, ACTION, ENC.state_names[:-1])
    with pytest.raises(PolicyInputError):
        gradient_x_input(NeuralBandit(S, A).scorer, STATE[:-1], ACTION)
