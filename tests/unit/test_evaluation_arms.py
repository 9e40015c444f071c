"""The evaluation arms: each builds a working policy, and each does what its definition says."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from kairos.evaluation.arms import (
    ARM_NAMES,
    ARMS,
    MODEL_ACTION_INPUTS,
    CFPolicy,
    InputMask,
    NoInterventionPolicy,
    arm,
)
from serving.policy import Feedback, NeuralBandit, Policy, RulePolicy, SafePolicy, StateEncoder

ENC = StateEncoder()
TYPES = ("none", "upsell", "cross_sell", "discount", "checkout_nudge", "email_capture", "concierge_message")


def candidates(*rows: dict[str, float]) -> npt.NDArray[np.float32]:
    out = np.zeros((len(rows), ENC.action_dim), dtype=np.float32)
    for i, row in enumerate(rows):
        for name, value in row.items():
            out[i, ENC.action_index(name)] = value
    return out


def state(**values: float) -> npt.NDArray[np.float32]:
    out = np.zeros(ENC.state_dim, dtype=np.float32)
    for name, value in values.items():
        out[ENC.state_index(name)] = value
    return out


def one_of_each() -> npt.NDArray[np.float32]:
    return candidates(*({f"type={t}": 1.0, "cf_acceptance": 0.3, "has_cf_acceptance": 1.0} for t in TYPES))


def test_arms_in_report_order() -> None:
    assert ARM_NAMES == ("none", "rules", "cf", "bandit", "linear", "neural", "full")
    assert [a.learns for a in ARMS] == [False, False, False, True, True, True, True]
    assert [a.name for a in ARMS if a.warm] == ["full"]
    with pytest.raises(KeyError, match="unknown arm"):
        arm("oracle")


@pytest.mark.parametrize("name", ARM_NAMES)
def test_every_arm_is_a_policy_with_exact_propensities(name: str) -> None:
    policy = arm(name).build(ENC, 3)
    assert isinstance(policy, Policy)
    c = one_of_each()
    mask = np.ones(len(c), dtype=np.bool_)
    mask[1] = False
    scores = policy.scores(state(**{"trigger=exit_intent": 1.0, "cart_value": 3.0})[None], c[None], mask[None])[0]
    index, propensities = policy.choose(scores, mask, seed=11)
    assert mask[index] and propensities[1] == 0.0 and math.isclose(propensities.sum(), 1.0)
    assert propensities[index] > 0


def test_no_intervention_always_chooses_none() -> None:
    policy = NoInterventionPolicy(ENC)
    c = one_of_each()[::-1].copy()  # none last
    scores = policy.scores(state()[None], c[None], np.ones((1, len(c)), dtype=np.bool_))[0]
    index, propensities = policy.choose(scores, np.ones(len(c), dtype=np.bool_), 0)
    assert TYPES[::-1][index] == "none" and propensities[index] == 1.0


def test_rules_arm_is_the_production_rule_policy() -> None:
    policy = arm("rules").build(ENC, 0)
    assert isinstance(policy, RulePolicy) and policy.discount_pct == 10.0


def test_cf_picks_the_highest_acceptance_times_value() -> None:
    cart = 200.0
    c = candidates(
        {"type=none": 1.0},
        {"type=upsell": 1.0, "has_product": 1.0, "price": math.log1p(50.0), "cf_acceptance": 0.5},  # 25
        {"type=cross_sell": 1.0, "has_product": 1.0, "price": math.log1p(300.0), "cf_acceptance": 0.1},  # 30
        {"type=discount": 1.0, "discount_pct": 0.1, "cf_acceptance": 0.2},  # 0.2 * 180 = 36
        {"type=checkout_nudge": 1.0, "cf_acceptance": 0.15},  # 30
        {"type=email_capture": 1.0, "cf_acceptance": 0.9},  # no monetary value
    )
    policy = CFPolicy(ENC)
    mask = np.ones(len(c), dtype=np.bool_)
    scores = policy.scores(state(cart_value=math.log1p(cart))[None], c[None], mask[None])[0]
    assert scores == pytest.approx([0.0, 25.0, 30.0, 36.0, 30.0, 0.0], rel=1e-5)
    assert policy.choose(scores, mask, 0)[0] == 3
    mask[3] = False
    assert policy.choose(np.where(mask, scores, -1e9), mask, 0)[0] == 2


def test_cf_chooses_none_when_nothing_is_worth_anything() -> None:
    c = candidates({"type=none": 1.0}, {"type=concierge_message": 1.0, "cf_acceptance": 0.8})
    policy = CFPolicy(ENC)
    mask = np.ones(2, dtype=np.bool_)
    assert policy.choose(policy.scores(state()[None], c[None], mask[None])[0], mask, 0)[0] == 0


def test_bandit_arm_does_not_read_model_scores_but_neural_does() -> None:
    c = one_of_each()
    mask = np.ones((1, len(c)), dtype=np.bool_)
    plain = state(**{"trigger=product_view": 1.0})
    scored = state(**{"trigger=product_view": 1.0, "abandonment_risk": 0.9, "purchase_propensity": 0.1, "segment=2": 1})
    other_cf = c.copy()
    other_cf[:, ENC.action_index(MODEL_ACTION_INPUTS[0])] = 0.95
    bandit, full = arm("bandit").build(ENC, 5), arm("neural").build(ENC, 5)
    base = bandit.scores(plain[None], c[None], mask)
    assert np.array_equal(base, bandit.scores(scored[None], c[None], mask))
    assert np.array_equal(base, bandit.scores(plain[None], other_cf[None], mask))
    assert not np.array_equal(full.scores(plain[None], c[None], mask), full.scores(scored[None], c[None], mask))


def test_input_mask_learns_on_blanked_vectors() -> None:
    inner = NeuralBandit(ENC.state_dim, ENC.action_dim, hidden=(), learning_rate=0.01, seed=1)
    twin = NeuralBandit(ENC.state_dim, ENC.action_dim, hidden=(), learning_rate=0.01, seed=1)
    masked = InputMask.without(inner, ENC, ("abandonment_risk",), ())
    s = state(**{"trigger=chat_message": 1.0, "abandonment_risk": 0.7})
    c = one_of_each()
    mask = np.ones(len(c), dtype=np.bool_)
    masked.learn_one(Feedback(state=s, candidates=c, mask=mask, chosen=2, reward=1.0, propensity=0.5))
    twin.learn_one(Feedback(state=s * masked.state_keep, candidates=c, mask=mask, chosen=2, reward=1.0, propensity=0.5))
    assert masked.version == inner.version == "neural_bandit-u1"
    blanked = (s * masked.state_keep)[None]
    assert np.array_equal(masked.scores(s[None], c[None], mask[None]), twin.scores(blanked, c[None], mask[None]))
    assert s[ENC.state_index("abandonment_risk")] == pytest.approx(0.7)  # the caller's vector is not modified


def test_full_arm_is_the_safe_policy_over_the_rules() -> None:
    policy = arm("full").build(ENC, 0)
    assert isinstance(policy, SafePolicy) and isinstance(policy.baseline, RulePolicy)


@pytest.mark.parametrize("name", ["bandit", "linear", "neural"])
def test_learning_arms_are_seeded_and_learn(name: str) -> None:
    a, b, other = arm(name).build(ENC, 7), arm(name).build(ENC, 7), arm(name).build(ENC, 8)
    s, c = state(**{"trigger=exit_intent": 1.0}), one_of_each()
    mask = np.ones((1, len(c)), dtype=np.bool_)
    before = a.scores(s[None], c[None], mask)
    assert np.array_equal(before, b.scores(s[None], c[None], mask))
    assert not np.array_equal(before, other.scores(s[None], c[None], mask))
    for _ in range(20):
        a.learn_one(Feedback(state=s, candidates=c, mask=mask[0], chosen=3, reward=5.0, propensity=0.5))
    after = a.scores(s[None], c[None], mask)
    assert after[0, 3] - before[0, 3] > 0  # learned that the discount pays here


def test_the_linear_arm_ranks_actions_differently_in_different_states() -> None:
    """State x action interactions: what it learns to prefer on an exit intent it need not prefer on a chat (a
    linear model on [s; a], the bandit arm, shifts every action's score by the same state term)."""
    policy = arm("linear").build(ENC, 3)
    exit_intent, chat = state(**{"trigger=exit_intent": 1.0}), state(**{"trigger=chat_message": 1.0})
    c = one_of_each()
    mask = np.ones(len(c), dtype=np.bool_)
    for _ in range(40):
        policy.learn_one(Feedback(state=exit_intent, candidates=c, mask=mask, chosen=3, reward=1.0, propensity=0.5))
        policy.learn_one(Feedback(state=chat, candidates=c, mask=mask, chosen=3, reward=-1.0, propensity=0.5))
    on_exit = policy.scores(exit_intent[None], c[None], mask[None])[0]
    on_chat = policy.scores(chat[None], c[None], mask[None])[0]
    assert on_exit[3] - np.delete(on_exit, 3).mean() > on_chat[3] - np.delete(on_chat, 3).mean()
