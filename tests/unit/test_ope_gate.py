"""The promotion gate: promote only when the paired lower bound of the improvement clears the margin."""

from __future__ import annotations

import numpy as np
import pytest

from serving.ope import (
    IncomparableEstimatesError,
    IntervalSpec,
    LoggedBandit,
    OPEConfigError,
    PromotionDecision,
    direct_method,
    doubly_robust,
    ipw,
    should_promote,
)

MEANS = np.array([0.2, 0.5, 0.8])  # true expected reward of each action


def _log(n: int = 3000, seed: int = 0) -> LoggedBandit:
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 3, n)
    rewards = (rng.random(n) < MEANS[actions]).astype(float)
    return LoggedBandit(actions, rewards, np.full(n, 1 / 3))


def _policy(probabilities: list[float], n: int = 3000) -> np.ndarray:
    return np.tile(np.array(probabilities), (n, 1))


def test_a_clearly_better_candidate_is_promoted() -> None:
    log = _log()
    best, worst = ipw(log, _policy([0.0, 0.0, 1.0])), ipw(log, _policy([1.0, 0.0, 0.0]))
    verdict = should_promote(best, worst, margin=0.1)
    assert verdict.promote and verdict
    assert verdict.lower_bound > 0.1
    assert verdict.difference == pytest.approx(best.value - worst.value)
    assert "promote" in verdict.reason


def test_the_margin_is_required_not_just_an_improvement() -> None:
    log = _log()
    best, worst = ipw(log, _policy([0.0, 0.0, 1.0])), ipw(log, _policy([1.0, 0.0, 0.0]))
    verdict = should_promote(best, worst, margin=0.7)  # true improvement 0.6
    assert not verdict.promote and not verdict
    assert verdict.lower_bound <= 0.7


def test_the_same_policy_or_a_worse_one_is_never_promoted() -> None:
    log = _log()
    incumbent = ipw(log, _policy([0.2, 0.3, 0.5]))
    assert not should_promote(incumbent, incumbent, margin=0.0)
    worse = ipw(log, _policy([0.5, 0.3, 0.2]))
    assert not should_promote(worse, incumbent, margin=0.0)


def test_pairing_detects_an_improvement_the_separate_intervals_cannot() -> None:
    # A 2-point shift of mass towards the best action: the two estimates move together with the resampled rounds.
    log = _log(n=2000, seed=4)
    incumbent = doubly_robust(log, _policy([0.3, 0.4, 0.3], 2000), np.tile(MEANS, (2000, 1)))
    candidate = doubly_robust(log, _policy([0.28, 0.4, 0.32], 2000), np.tile(MEANS, (2000, 1)))
    assert candidate.interval.lower < incumbent.interval.upper  # separately, the intervals overlap
    verdict = should_promote(candidate, incumbent, margin=0.0, confidence=0.95)
    assert verdict.promote, verdict.reason


def test_bootstrap_and_normal_bounds_agree_and_are_reproducible() -> None:
    log = _log()
    a, b = ipw(log, _policy([0.1, 0.3, 0.6])), ipw(log, _policy([0.3, 0.4, 0.3]))
    boot = should_promote(a, b, margin=0.05, n_bootstrap=3000, seed=7)
    normal = should_promote(a, b, margin=0.05, method="normal")
    assert boot == should_promote(a, b, margin=0.05, n_bootstrap=3000, seed=7)
    assert boot.promote == normal.promote
    assert boot.lower_bound == pytest.approx(normal.lower_bound, abs=0.01)
    assert isinstance(boot, PromotionDecision)
    assert (boot.method, normal.method, boot.estimator) == ("bootstrap", "normal", "ipw")


def test_a_higher_confidence_lowers_the_bound() -> None:
    log = _log()
    a, b = ipw(log, _policy([0.1, 0.3, 0.6])), ipw(log, _policy([0.3, 0.4, 0.3]))
    assert should_promote(a, b, 0.0, 0.99).lower_bound < should_promote(a, b, 0.0, 0.8).lower_bound


def test_estimates_from_other_logs_or_estimators_are_refused() -> None:
    policy = _policy([0.0, 0.0, 1.0])
    with pytest.raises(IncomparableEstimatesError, match="different logs"):
        should_promote(ipw(_log(seed=1), policy), ipw(_log(seed=2), policy), margin=0.0)
    log = _log()
    q = np.tile(MEANS, (3000, 1))
    with pytest.raises(IncomparableEstimatesError, match="different estimators"):
        should_promote(ipw(log, policy), direct_method(log, policy, q), margin=0.0)


@pytest.mark.parametrize(
    ("margin", "confidence", "method", "n_bootstrap"),
    [
        (-0.1, 0.95, "bootstrap", 100),
        (0.0, 1.0, "bootstrap", 100),
        (0.0, 0.95, "bayes", 100),
        (0.0, 0.9, "bootstrap", 1),
    ],
)
def test_bad_gate_settings_are_rejected(margin: float, confidence: float, method: str, n_bootstrap: int) -> None:
    estimate = ipw(_log(), _policy([0.0, 0.0, 1.0]), spec=IntervalSpec(method="normal"))
    with pytest.raises(OPEConfigError):
        should_promote(estimate, estimate, margin, confidence, method=method, n_bootstrap=n_bootstrap)  # type: ignore[arg-type]
