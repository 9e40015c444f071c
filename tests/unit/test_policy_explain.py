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
    explain_many,
    gradient_x_input,
    gradient_x_input_many,
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


@pytest.mark.parametrize("policy", [NeuralBandit(S, A, seed=4), PPOPolicy(S, A, seed=6)], ids=["bandit", "ppo"])
def test_explain_many_equals_explain_row_by_row(policy: NeuralBandit | PPOPolicy) -> None:
    states = RNG.normal(size=(9, S)).astype(np.float32)
    states[:, 5] = 0.0  # a zero dimension is left out of every row
    chosen = RNG.normal(size=(9, A)).astype(np.float32)
    many = explain_many(policy, states, chosen, ENC.state_names, top_k=7)
    assert len(many) == 9
    for row, (state, action) in zip(many, zip(states, chosen, strict=True), strict=True):
        one = explain(policy, state, action, ENC.state_names, top_k=7)
        assert [c.name for c in row] == [c.name for c in one]
        assert [c.value for c in row] == [c.value for c in one]
        assert [c.contribution for c in row] == pytest.approx([c.contribution for c in one], rel=1e-5, abs=1e-7)
    contributions, scores = gradient_x_input_many(policy.scorer, states, chosen)
    for i in range(9):
        single, score = gradient_x_input(policy.scorer, states[i], chosen[i])
        assert contributions[i] == pytest.approx(single, rel=1e-5, abs=1e-7)
        assert scores[i] == pytest.approx(score, rel=1e-5, abs=1e-7)
    assert all(p.grad is None for p in policy.scorer.parameters())


def test_explain_many_for_rules_unknown_policies_and_bad_input() -> None:
    states = np.stack(
        [
            ENC.encode_state(None, {"exit_intent": True}, ModelScores(), "x"),
            ENC.encode_state(None, None, ModelScores(), "chat_message"),
            ENC.encode_state(None, None, ModelScores(), "page_view"),
        ]
    )
    chosen = np.zeros((3, A), dtype=np.float32)
    rules = RulePolicy(ENC)
    assert explain_many(rules, states, chosen, ENC.state_names) == [
        explain(rules, s, a, ENC.state_names) for s, a in zip(states, chosen, strict=True)
    ]
    assert explain_many(object(), states, chosen, ENC.state_names) == [[], [], []]
    assert explain_many(NeuralBandit(S, A), states[:0], chosen[:0], ENC.state_names) == []
    with pytest.raises(PolicyInputError):
        explain_many(NeuralBandit(S, A), states, chosen, ENC.state_names[:-1])
    with pytest.raises(PolicyInputError):
        explain_many(NeuralBandit(S, A), states, chosen[:2], ENC.state_names)


def test_a_row_explains_the_same_whatever_its_batch() -> None:
    """Replays cut batches elsewhere: a row's contributions must be bit-identical alone and in any batch."""
    policy = NeuralBandit(S, A, seed=3)
    rng = np.random.default_rng(11)
    states = rng.random((37, S)).astype(np.float32)
    chosen = rng.random((37, A)).astype(np.float32)
    together, _ = gradient_x_input_many(policy.scorer, states, chosen)
    for i in range(37):
        alone, _ = gradient_x_input_many(policy.scorer, states[i : i + 1], chosen[i : i + 1])
        assert alone[0].tobytes() == together[i].tobytes()
