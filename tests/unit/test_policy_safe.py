"""The safe policy: the rules until the logs say otherwise with confidence; SNIPW statistics; exact grouped
exploration; recovering a known best arm from a synthetic logged bandit; falling back after a drift."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.policy import (
    ArmStats,
    CandidateSources,
    Feedback,
    ModelScores,
    RulePolicy,
    SafePolicy,
    StateEncoder,
    action_key,
    decide,
    generate_candidates,
    grouped_epsilon_propensities,
)

ENC = StateEncoder()
ROWS = {
    "shoe-1": {"category": "shoes", "price": 60.0, "co_purchased": ["sock-1", "shoe-2"]},
    "shoe-2": {"category": "shoes", "price": 90.0},
    "sock-1": {"category": "socks", "price": 6.0},
}


def situation(
    trigger: str, session: Mapping[str, object], product: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """One decision's state, candidate vectors, mask and candidate keys."""
    sources = CandidateSources(current_product_id=product, product_rows=ROWS, popular=("pop-1",))
    candidates = generate_candidates(sources)
    state = ENC.encode_state({"purchase_count": 1}, session, ModelScores(), trigger)
    vectors, valid = ENC.encode_candidates(candidates, ROWS, anchor_product_id=product, pad_to=25)
    return state, vectors, valid, [action_key(c.action) for c in candidates]


def situation_key(policy: SafePolicy, case: tuple[str, Mapping[str, object], str | None]) -> int:
    """The safe policy's situation of one case."""
    state, vectors, valid, _ = situation(*case)
    return int(policy.situation_of(state[None], vectors[None], valid[None])[0])


CASES = [
    ("exit_intent", {}, None),
    ("exit_intent", {"cart_size": 2, "cart_value": 80.0}, None),
    ("add_to_cart", {"cart_size": 2, "checkout_started": True}, None),
    ("product_view", {}, "shoe-1"),
    ("product_view", {}, "sock-1"),
    ("chat_message", {}, None),
    ("page_view", {}, None),
]


def choice_of(policy: SafePolicy | RulePolicy, case: tuple[str, Mapping[str, object], str | None], seed: str) -> str:
    state, vectors, valid, keys = situation(*case)
    return keys[decide(policy, state, vectors, valid, seed).index]


@pytest.mark.parametrize("case", CASES)
def test_without_data_it_is_the_rules(case: tuple[str, Mapping[str, object], str | None]) -> None:
    safe = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0)
    rules = choice_of(RulePolicy(ENC), case, "d-1")
    chosen = choice_of(safe, case, "d-1")
    # the same arm (a product arm offers its first candidate in the generator's order)
    assert chosen.split(":")[0] == rules.split(":")[0]


def logged(
    policy: SafePolicy, case: tuple[str, Mapping[str, object], str | None], rewards: Mapping[str, float], n: int
) -> list[Feedback]:
    """``n`` decisions of ``policy`` (as the logging policy) in one situation, rewards by arm + Gaussian noise."""
    state, vectors, valid, keys = situation(*case)
    rng = random.Random(7)
    out = []
    for i in range(n):
        choice = decide(policy, state, vectors, valid, f"d-{i}")
        key = keys[choice.index]
        reward = rewards.get(key.split(":")[0] if not key.startswith("discount") else key, 0.0) + rng.gauss(0, 0.3)
        out.append(
            Feedback(
                state=state,
                candidates=vectors,
                mask=valid,
                chosen=choice.index,
                reward=reward,
                propensity=choice.propensity,
                propensities=choice.propensities,
            )
        )
    return out


def test_it_recovers_a_known_best_arm_from_an_epsilon_logged_bandit() -> None:
    exit_case = CASES[0]  # the rules offer discount:10 here; in this world "none" earns 0.4 more
    logger = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.3)
    log = logged(logger, exit_case, {"none": 0.4, "discount:10": 0.0}, n=6000)
    learner = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0)
    learner.learn_many(log)
    assert choice_of(learner, exit_case, "d-x") == "none"
    found = learner.advantage(situation_key(learner, exit_case), 0)
    assert found is not None and found[0] == pytest.approx(0.4, abs=0.05)
    # elsewhere (no data) it still follows the rules
    assert choice_of(learner, CASES[5], "d-y") == "concierge_message"


def test_it_does_not_deviate_on_thin_or_unconvincing_evidence() -> None:
    exit_case = CASES[0]
    logger = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.3)
    thin = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0, min_support=100)
    thin.learn_many(logged(logger, exit_case, {"none": 0.4}, n=300))  # ~13 effective samples of "none"
    assert choice_of(thin, exit_case, "d-x") == "discount:10"
    flat = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0)
    flat.learn_many(logged(logger, exit_case, {"none": 0.0}, n=6000))  # no real difference
    assert choice_of(flat, exit_case, "d-x") == "discount:10"


@settings(max_examples=40, deadline=None)
@given(
    gains=st.lists(st.floats(-0.5, 0.5), min_size=3, max_size=3),
    n=st.integers(50, 400),
    confidence=st.floats(0.5, 0.999),
)
def test_it_never_picks_an_arm_whose_lower_bound_is_below_the_rules(
    gains: list[float], n: int, confidence: float
) -> None:
    policy = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0, confidence=confidence, min_support=20)
    state, vectors, valid, keys = situation(*CASES[0])
    g = int(policy.situation_of(state[None], vectors[None], valid[None])[0])
    rng = random.Random(n)
    arms = {"none": 0, "checkout_nudge": 4, "email_capture": 5}
    table = policy.stats.setdefault(g, {})
    for arm, gain in zip(arms.values(), gains, strict=True):
        this, rules = table.setdefault(arm, (ArmStats(), ArmStats()))
        for _ in range(n):
            this.add(1.0, gain + rng.gauss(0, 0.2))
            rules.add(1.0, rng.gauss(0, 0.2))
    index = decide(policy, state, vectors, valid, "d-p").index
    chosen = policy.arms_of(vectors[None])[0][index]
    if keys[index] != "discount:10":  # deviated: its bound must clear the rules
        found = policy.advantage(g, int(chosen))
        assert found is not None and found[0] - policy.z(g, int(chosen)) * found[1] > 0


def test_it_falls_back_to_the_rules_after_a_drift() -> None:
    exit_case = CASES[0]
    logger = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.3)
    policy = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0, half_life=2000)
    policy.learn_many(logged(logger, exit_case, {"none": 0.4}, n=6000))
    assert choice_of(policy, exit_case, "d-x") == "none"
    policy.learn_many(logged(logger, exit_case, {"none": -0.4}, n=3000))  # the world changed
    assert choice_of(policy, exit_case, "d-x") == "discount:10"


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0]), min_size=1, max_size=12),
    eps=st.floats(0.0, 0.7),
    holdout=st.floats(0.0, 0.3),
    data=st.data(),
)
def test_grouped_exploration_is_exact(scores: list[float], eps: float, holdout: float, data: st.DataObject) -> None:
    mask = data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores)))
    mask[0] = True  # candidate 0 is none, never masked
    p = grouped_epsilon_propensities(scores, mask, eps, holdout)
    assert math.isclose(float(p.sum()), 1.0, abs_tol=1e-12)
    assert all(p[i] == 0.0 for i, ok in enumerate(mask) if not ok)
    groups = {scores[i] for i, ok in enumerate(mask) if ok}
    for value in groups:
        members = [i for i, ok in enumerate(mask) if ok and scores[i] == value]
        assert len({float(p[i]) for i in members[1:]}) <= 1  # evenly inside a group (the best aside)
        assert sum(p[i] for i in members) >= eps / len(groups) - 1e-12
    assert p[0] >= holdout - 1e-12  # the control group


def test_arm_stats_match_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    w, r = rng.uniform(0.5, 5.0, 200), rng.normal(0.2, 1.0, 200)
    stats = ArmStats()
    for wi, ri in zip(w, r, strict=True):
        stats.add(float(wi), float(ri))
    mean = float((w * r).sum() / w.sum())
    assert stats.mean == pytest.approx(mean)
    assert stats.stderr == pytest.approx(math.sqrt(float((w**2 * (r - mean) ** 2).sum())) / float(w.sum()))
    assert stats.effective_n == pytest.approx(float(w.sum() ** 2 / (w**2).sum()))


def test_propensities_sum_to_one_and_the_table_explains() -> None:
    policy = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.2)
    state, vectors, valid, _ = situation(*CASES[3])
    choice = decide(policy, state, vectors, valid, "d-t")
    assert math.isclose(float(choice.propensities.sum()), 1.0, abs_tol=1e-12)
    policy.learn_many(logged(policy, CASES[0], {"none": 0.4}, n=500))
    assert {row["situation"] for row in policy.table()} == {"exit_intent/empty/rules:discount:10"}
    assert {row["arm"] for row in policy.table()} >= {"none", "checkout_nudge"}
    assert "vs rules" in policy.why(situation_key(policy, CASES[0]), 0)


def test_other_arms_are_tested_only_after_none_clears() -> None:
    policy = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0, min_support=20)
    state, vectors, valid, keys = situation(*CASES[0])
    g = int(policy.situation_of(state[None], vectors[None], valid[None])[0])
    rng = random.Random(3)
    table = policy.stats.setdefault(g, {})

    def fill(arm: int, gain: float) -> None:
        this, rules = table.setdefault(arm, (ArmStats(), ArmStats()))
        for _ in range(400):
            this.add(1.0, gain + rng.gauss(0, 0.2))
            rules.add(1.0, rng.gauss(0, 0.2))

    fill(0, 0.0)  # none: no better than the rules
    fill(5, 0.5)  # email capture: far better, but gated behind none
    assert policy.z(g, 5) == math.inf and keys[decide(policy, state, vectors, valid, "d-g").index] == "discount:10"
    table.clear()
    fill(0, 0.2)  # none clears at the plain one-sided quantile; the others are then a Bonferroni family
    fill(5, 0.5)
    fill(4, 0.0)  # a second other arm: the family of two
    assert policy.z(g, 0) < policy.z(g, 5) < math.inf
    assert keys[decide(policy, state, vectors, valid, "d-g").index] == "email_capture"


def test_situations_split_by_the_rules_own_choice() -> None:
    """A product view with a full cart is a checkout nudge once checkout started and an upsell before: evidence
    against the nudge there must not take the upsell away where checkout did not start."""
    nudging = ("product_view", {"cart_size": 2, "checkout_started": True}, "shoe-1")
    upselling = ("product_view", {"cart_size": 2}, "shoe-1")
    rules = RulePolicy(ENC)
    assert choice_of(rules, nudging, "d-a").startswith("checkout_nudge")
    assert choice_of(rules, upselling, "d-b").startswith("upsell")
    learner = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.0)
    assert situation_key(learner, nudging) != situation_key(learner, upselling)
    logger = SafePolicy(RulePolicy(ENC), ENC, epsilon=0.3)
    learner.learn_many(logged(logger, nudging, {"none": 0.4}, n=4000))
    learner.learn_many(logged(logger, upselling, {"upsell": 0.2}, n=4000))
    assert choice_of(learner, nudging, "d-c") == "none"
    assert choice_of(learner, upselling, "d-d").startswith("upsell")
