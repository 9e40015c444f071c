"""Fairness: the windowed per-group offer-rate monitor, and the parity rule holding in a simulated stream."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from schemas.decisions import Action, InterventionType
from serving.guardrails import (
    FairnessConfig,
    FairnessMonitor,
    GuardContext,
    GuardrailConfig,
    GuardrailConfigError,
    GuardrailLabel,
    SharedGuardState,
    UserGuardState,
    apply_decision,
    evaluate,
)

T0 = 1_750_000_000.0
FAIR = FairnessConfig(attribute="age_band", max_gap=0.05, window_s=1_800.0, bucket_s=60.0, min_decisions=30)


def test_rates_eligibility_and_window() -> None:
    monitor = FairnessMonitor.for_config(FAIR)
    for i in range(40):
        monitor = monitor.record("a", discount=i % 2 == 0, now_s=T0 + i)
        monitor = monitor.record("b", discount=i % 5 == 0, now_s=T0 + i)
    for i in range(10):
        monitor = monitor.record("c", discount=True, now_s=T0 + i)
    rates = monitor.rates(T0 + 40)
    assert {g: (r.decisions, r.discounts) for g, r in rates.items()} == {"a": (40, 20), "b": (40, 8), "c": (10, 10)}
    assert monitor.parity_gap(T0 + 40, FAIR) == pytest.approx(0.5 - 0.2)  # c is not eligible yet (10 < 30)
    assert monitor.exceeds("a", T0 + 40, FAIR)
    assert not monitor.exceeds("b", T0 + 40, FAIR)
    assert not monitor.exceeds("c", T0 + 40, FAIR)  # ineligible groups are never masked
    assert not monitor.exceeds("unknown", T0 + 40, FAIR)
    assert monitor.rates(T0 + 40 + FAIR.window_s + FAIR.bucket_s) == {}


def test_a_single_eligible_group_is_never_masked() -> None:
    monitor = FairnessMonitor.for_config(FAIR)
    for i in range(50):
        monitor = monitor.record("a", discount=True, now_s=T0 + i)
    assert not monitor.exceeds("a", T0 + 50, FAIR)
    assert monitor.parity_gap(T0 + 50, FAIR) == 0.0


@pytest.mark.parametrize("kwargs", [{"max_gap": -0.1}, {"bucket_s": 0.0}, {"window_s": 10.0}, {"min_decisions": 0}])
def test_bad_fairness_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(GuardrailConfigError):
        FairnessConfig(**kwargs)  # type: ignore[arg-type]


def simulate(enforce: bool, decisions: int = 5_400, seed: int = 7) -> tuple[list[float], int]:
    """A policy that wants to discount group a twice as often as b and c; one decision per second of event time.

    Returns the parity gap measured every 300 decisions after the first window, and how often fairness masked.
    """
    fairness = replace(FAIR, attribute="age_band" if enforce else None)
    config = GuardrailConfig(
        fairness=fairness,
        max_discounts_per_user_day=10**9,
        max_discount_value_per_user_day=1e12,
        global_discount_budget=1e12,
    )
    shared = SharedGuardState.for_config(config)
    monitor = FairnessMonitor.for_config(FAIR)  # an independent audit, whatever the enforcement
    wants = {"a": 0.6, "b": 0.3, "c": 0.25}
    candidates = [Action(type=InterventionType.NONE), Action(type=InterventionType.DISCOUNT, discount_pct=10.0)]
    rng = random.Random(seed)
    gaps, masked = [], 0
    for i in range(decisions):
        now, group = T0 + i, rng.choice("abc")
        context = GuardContext(
            now_s=now,
            session_id=f"s{i}",
            trigger="exit_intent",
            user_row={"consent_personalisation": True},
            group=group,
        )
        result = evaluate(candidates, context, UserGuardState(), shared, config)
        masked += GuardrailLabel.FAIRNESS_DISCOUNT_PARITY in result.applied
        action = candidates[1] if result.mask[1] and rng.random() < wants[group] else candidates[0]
        _, shared = apply_decision(UserGuardState(), shared, action, context, config)
        monitor = monitor.record(group, action.type is InterventionType.DISCOUNT, now)
        if i >= FAIR.window_s and i % 300 == 0:
            gaps.append(monitor.parity_gap(now, FAIR))
    return gaps, masked


def test_parity_holds_within_the_gap_under_enforcement_and_not_without() -> None:
    enforced, masked = simulate(enforce=True)
    free, never = simulate(enforce=False)
    assert max(free) > 0.2 and never == 0
    assert masked > 0
    assert max(enforced) <= FAIR.max_gap + 0.01  # one decision's overshoot at most, in practice
