"""Kairos decisions as bandit rounds: the adapter's arrays and checks, rewards, and an end-to-end evaluation of a
candidate policy on SquareCB-logged decisions decoded from the wire."""

from __future__ import annotations

import numpy as np
import pytest
from msgspec.structs import replace

from schemas import decode_as, encode
from schemas.decisions import Action, Decision, InterventionType, ScoredCandidate
from schemas.examples import EXAMPLE_TIME, example_reward
from schemas.fields import CURRENT_SCHEMA_VERSION
from schemas.rewards import Reward, RewardComponent, reward_id_for
from serving.ope import (
    DecisionLogError,
    Estimate,
    IntervalSpec,
    OPEInputError,
    decision_log,
    doubly_robust,
    final_rewards,
    ipw,
    should_promote,
    snipw,
)
from serving.policy.exploration import draw, igw_propensities, seed_for

TYPES = list(InterventionType)
NONE = Action(type=InterventionType.NONE)
UPSELL = Action(type=InterventionType.UPSELL, product_id="p-1")
NUDGE = Action(type=InterventionType.CHECKOUT_NUDGE)


def _decision(decision_id: str, candidates: list[tuple[Action, float]], chosen: int) -> Decision:
    action, propensity = candidates[chosen]
    return Decision(
        decision_id=decision_id,
        event_time=EXAMPLE_TIME,
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id="s-1",
        user_id="u-1",
        trigger_event_id=f"e-{decision_id}",
        trigger_event_type="product_view",
        action=action,
        propensity=propensity,
        policy_name="neural_bandit",
        policy_version="1",
        policy_source="triton",
        attribution_window_s=1800,
        candidates=[ScoredCandidate(action=a, score=0.0, propensity=p) for a, p in candidates],
    )


def _two() -> list[Decision]:
    return [
        _decision("d-a", [(NONE, 0.2), (UPSELL, 0.8)], chosen=1),
        _decision("d-b", [(NONE, 0.5), (UPSELL, 0.0), (NUDGE, 0.5)], chosen=0),
    ]


def test_decisions_become_padded_bandit_rounds() -> None:
    log = decision_log(_two(), {"d-a": 1.0, "d-b": 0.0})
    assert log.decision_ids == ("d-a", "d-b")
    assert log.n_actions == 3
    np.testing.assert_array_equal(log.bandit.actions, [1, 0])
    np.testing.assert_array_equal(log.bandit.pscore, [0.8, 0.5])
    np.testing.assert_array_equal(log.bandit.rewards, [1.0, 0.0])
    np.testing.assert_array_equal(log.logging_dist, [[0.2, 0.8, 0.0], [0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(log.n_candidates, [2, 3])
    assert "n_rounds=2" in repr(log)


def test_a_candidate_policy_is_a_distribution_over_each_decisions_candidates() -> None:
    log = decision_log(_two(), {"d-a": 1.0, "d-b": 0.0})
    prefer_upsell = log.action_dist(lambda d: [1.0 if c.action == UPSELL else 0.0 for c in d.candidates])
    np.testing.assert_array_equal(prefer_upsell, [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    # round 1 earned 1 with weight 1/0.8; round 2 logged "none", which the policy never picks
    assert ipw(log.bandit, prefer_upsell, spec=IntervalSpec(method="normal")).value == pytest.approx(0.625)
    # in d-b the logging policy gave the upsell probability 0 (masked): half the rounds are unsupported
    assert log.unsupported_mass(prefer_upsell) == pytest.approx(0.5)
    q = log.estimated_rewards(lambda d: [0.1 * (i + 1) for i in range(len(d.candidates))])
    np.testing.assert_allclose(q, [[0.1, 0.2, 0.0], [0.1, 0.2, 0.3]])


def test_the_logging_policy_evaluates_to_the_mean_reward() -> None:
    log = decision_log(_two(), {"d-a": 1.0, "d-b": 0.0})
    assert ipw(log.bandit, log.logging_dist, spec=IntervalSpec(method="normal")).value == pytest.approx(0.5)


def test_duplicates_from_at_least_once_publishing_count_once() -> None:
    first, second = _two()
    log = decision_log([first, second, first], {"d-a": 1.0, "d-b": 0.0})
    assert log.decision_ids == ("d-a", "d-b")


def test_a_repeated_action_is_resolved_by_its_propensity() -> None:
    decision = _decision("d-r", [(NONE, 0.3), (UPSELL, 0.1), (UPSELL, 0.6)], chosen=2)
    assert decision_log([decision], {"d-r": 0.0}).bandit.actions.tolist() == [2]
    ambiguous = _decision("d-s", [(UPSELL, 0.5), (UPSELL, 0.5)], chosen=0)
    with pytest.raises(DecisionLogError, match="several"):
        decision_log([ambiguous], {"d-s": 0.0})


def test_missing_rewards_are_an_error_unless_a_default_is_given() -> None:
    with pytest.raises(DecisionLogError, match="no reward"):
        decision_log(_two(), {"d-a": 1.0})
    assert decision_log(_two(), {"d-a": 1.0}, default_reward=0.0).bandit.rewards.tolist() == [1.0, 0.0]


def test_inconsistent_decisions_are_rejected() -> None:
    no_candidates = replace(_two()[0], candidates=[])
    with pytest.raises(DecisionLogError, match="no candidates"):
        decision_log([no_candidates], {"d-a": 1.0})
    elsewhere = replace(_two()[0], action=NUDGE)
    with pytest.raises(DecisionLogError, match="not among"):
        decision_log([elsewhere], {"d-a": 1.0})
    disagreeing = replace(_two()[0], propensity=0.7)
    with pytest.raises(DecisionLogError, match="propensity"):
        decision_log([disagreeing], {"d-a": 1.0})
    with pytest.raises(DecisionLogError, match="no decisions"):
        decision_log([], {})
    log = decision_log(_two(), {"d-a": 1.0, "d-b": 0.0})
    with pytest.raises(OPEInputError, match="candidates"):
        log.action_dist(lambda d: [1.0])
    with pytest.raises(OPEInputError, match="does not match"):
        log.unsupported_mass(np.ones((2, 2)))


def _reward(decision_id: str, value: float, *, final: bool = True, outcome: str = "e-1") -> Reward:
    component = RewardComponent.COMPOSITE
    return Reward(
        reward_id=reward_id_for(decision_id, component, [outcome], final=final),
        decision_id=decision_id,
        component=component,
        value=value,
        final=final,
        event_time=EXAMPLE_TIME,
        outcome_event_ids=[outcome],
        policy_name="neural_bandit",
        policy_version="1",
        schema_version=CURRENT_SCHEMA_VERSION,
        user_id="u-1",
    )


def test_final_rewards_keep_one_final_value_per_decision() -> None:
    rewards = [
        _reward("d-a", 0.3, final=False),
        _reward("d-a", 1.0),
        _reward("d-a", 1.0),  # a replayed copy
        _reward("d-b", 0.0),
        example_reward(),  # another component
    ]
    assert final_rewards(rewards) == {"d-a": 1.0, "d-b": 0.0}
    assert final_rewards(rewards, RewardComponent.CONVERSION) == {"d-1": 1.0}
    with pytest.raises(DecisionLogError, match="two final"):
        final_rewards([_reward("d-a", 1.0), _reward("d-a", 2.0, outcome="e-2")])


# --- end to end: SquareCB logs, a greedy candidate policy, the truth known ---

MEANS = {t: 0.05 + 0.1 * i for i, t in enumerate(TYPES)}  # true conversion probability per intervention type


def _logged_decisions(n: int, seed: int) -> tuple[list[Decision], dict[str, float]]:
    """Decisions as the decision stage logs them (SquareCB over noisy scores, a seeded draw), decoded from JSON."""
    rng = np.random.default_rng(seed)
    decisions, rewards = [], {}
    for i in range(n):
        picked = rng.choice(len(TYPES) - 1, size=int(rng.integers(2, 6)), replace=False) + 1
        types = [TYPES[0], *(TYPES[int(j)] for j in picked)]
        mask = np.ones(len(types), dtype=bool)
        mask[1:] = rng.random(len(types) - 1) > 0.2  # guardrails; "none" is never masked
        scores = np.array([MEANS[t] for t in types]) + rng.normal(0.0, 0.2, len(types))
        propensities = igw_propensities(scores, mask, gamma=5.0)
        decision_id = f"d-{seed}-{i}"
        chosen = draw(propensities, seed_for(decision_id))
        candidates = [(Action(type=t), float(p)) for t, p in zip(types, propensities, strict=True)]
        decision = decode_as(encode(_decision(decision_id, candidates, chosen)), Decision)
        decisions.append(decision)
        rewards[decision_id] = float(rng.random() < MEANS[types[chosen]])
    return decisions, rewards


def _greedy_on_truth(decision: Decision) -> list[float]:
    allowed = [c.propensity > 0.0 for c in decision.candidates]
    values = [MEANS[c.action.type] if ok else -1.0 for c, ok in zip(decision.candidates, allowed, strict=True)]
    best = int(np.argmax(values))
    return [1.0 if i == best else 0.0 for i in range(len(values))]


def _true_value(decisions: list[Decision]) -> float:
    return float(np.mean([max(MEANS[c.action.type] for c in d.candidates if c.propensity > 0.0) for d in decisions]))


def test_a_candidate_policy_is_evaluated_within_its_interval_and_beats_the_logging_policy() -> None:
    decisions, rewards = _logged_decisions(4000, seed=1)
    log = decision_log(decisions, rewards)
    greedy = log.action_dist(_greedy_on_truth)
    assert log.unsupported_mass(greedy) == 0.0
    truth = _true_value(decisions)
    q = log.estimated_rewards(lambda d: [MEANS[c.action.type] * 0.8 for c in d.candidates])  # a biased model
    spec = IntervalSpec(level=0.99, n_bootstrap=1000)
    by_ipw, by_snipw = ipw(log.bandit, greedy, spec=spec), snipw(log.bandit, greedy, spec=spec)
    by_dr = doubly_robust(log.bandit, greedy, q, spec=spec)
    for estimate in (by_ipw, by_snipw, by_dr):
        assert estimate.interval.lower <= truth <= estimate.interval.upper, estimate
    # the model, biased as it is, takes most of the variance out
    assert _width(by_dr) < 0.8 * _width(by_ipw)
    logging = ipw(log.bandit, log.logging_dist, spec=spec)
    assert logging.value == pytest.approx(float(np.mean(list(rewards.values()))))
    assert should_promote(ipw(log.bandit, greedy), ipw(log.bandit, log.logging_dist), margin=0.02)


def _width(estimate: Estimate) -> float:
    return estimate.interval.upper - estimate.interval.lower
