"""Confidence intervals: seeded bootstrap reproducibility, ratio resampling, the normal approximation, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from serving.ope import (
    IntervalSpec,
    LoggedBandit,
    OPEConfigError,
    OPEInputError,
    RoundTerms,
    bootstrap_values,
    interval,
    ipw,
    snipw,
)


def _terms(n: int = 2000, seed: int = 0) -> RoundTerms:
    return RoundTerms(np.random.default_rng(seed).exponential(1.0, n))


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    spec = IntervalSpec(n_bootstrap=500, seed=11)
    assert interval(_terms(), spec) == interval(_terms(), spec)
    assert interval(_terms(), spec) != interval(_terms(), IntervalSpec(n_bootstrap=500, seed=12))


def test_bootstrap_and_normal_intervals_agree_on_a_mean() -> None:
    terms = _terms(5000)
    boot = interval(terms, IntervalSpec(n_bootstrap=4000, seed=1))
    normal = interval(terms, IntervalSpec(method="normal"))
    width = normal.upper - normal.lower
    assert boot.lower < terms.value < boot.upper
    assert abs(boot.lower - normal.lower) < 0.1 * width
    assert abs(boot.upper - normal.upper) < 0.1 * width
    assert (boot.method, normal.method, boot.level) == ("bootstrap", "normal", 0.95)


def test_normal_interval_is_the_standard_error_of_a_mean() -> None:
    terms = RoundTerms(np.array([0.0, 1.0, 2.0, 3.0]))
    ci = interval(terms, IntervalSpec(method="normal", level=0.95))
    se = np.std([0.0, 1.0, 2.0, 3.0], ddof=1) / 2.0
    assert ci.lower == pytest.approx(1.5 - 1.959964 * se, rel=1e-6)
    assert ci.upper == pytest.approx(1.5 + 1.959964 * se, rel=1e-6)


def test_a_higher_level_gives_a_wider_interval() -> None:
    terms = _terms()
    narrow = interval(terms, IntervalSpec(level=0.8, n_bootstrap=1000))
    wide = interval(terms, IntervalSpec(level=0.99, n_bootstrap=1000))
    assert wide.lower < narrow.lower < narrow.upper < wide.upper


def test_ratio_terms_are_resampled_as_a_ratio() -> None:
    # value = sum(num) / sum(den); a resample keeps numerator and denominator of a round together
    num, den = np.array([2.0, 0.0, 4.0]), np.array([1.0, 1.0, 2.0])
    values = bootstrap_values([RoundTerms(num, den)], n_bootstrap=200, seed=3)[0]
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 3, size=(200, 3))
    np.testing.assert_allclose(values, num[idx].sum(axis=1) / den[idx].sum(axis=1))


def test_undefined_resamples_are_nan_and_skipped() -> None:
    terms = RoundTerms(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    values = bootstrap_values([terms], n_bootstrap=400, seed=0)[0]
    assert np.isnan(values).any()
    ci = interval(terms, IntervalSpec(n_bootstrap=400))
    assert ci.lower == ci.upper == 1.0


def test_paired_resamples_share_indices() -> None:
    a = _terms(100, seed=1)
    values = bootstrap_values([a, a], n_bootstrap=50, seed=9)
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_array_equal(values[0], bootstrap_values([a], n_bootstrap=50, seed=9)[0])


def test_many_rounds_are_resampled_in_chunks_and_stay_reproducible() -> None:
    terms = _terms(300_000)  # more rounds than one chunk's worth of resamples
    first = bootstrap_values([terms], n_bootstrap=30, seed=5)
    assert np.array_equal(first, bootstrap_values([terms], n_bootstrap=30, seed=5))
    assert np.all(np.abs(first - terms.value) < 0.02)


def test_ipw_interval_covers_the_true_value_most_of_the_time() -> None:
    # 40 seeded synthetic logs with a known true value: a 90 % interval should miss in few of them
    k, n, misses = 3, 800, 0
    means = np.array([0.2, 0.5, 0.8])
    target = np.array([0.1, 0.2, 0.7])
    true_value = float(target @ means)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        actions = rng.integers(0, k, n)
        rewards = (rng.random(n) < means[actions]).astype(float)
        log = LoggedBandit(actions, rewards, np.full(n, 1 / k))
        for method in ("bootstrap", "normal"):
            spec = IntervalSpec(method=method, level=0.9, n_bootstrap=400)
            ci = ipw(log, np.tile(target, (n, 1)), spec=spec).interval
            misses += not ci.lower <= true_value <= ci.upper
    assert misses <= 16  # expected 8 of 80


def test_snipw_interval_brackets_its_value() -> None:
    rng = np.random.default_rng(2)
    n = 1000
    actions = rng.integers(0, 4, n)
    log = LoggedBandit(actions, rng.random(n), np.full(n, 0.25))
    estimate = snipw(log, rng.dirichlet(np.ones(4), size=n))
    assert estimate.interval.lower < estimate.value < estimate.interval.upper


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "jackknife"}, {"level": 1.0}, {"level": 0.0}, {"n_bootstrap": 1}, {"seed": -1}],
)
def test_bad_specs_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(OPEConfigError):
        IntervalSpec(**kwargs)  # type: ignore[arg-type]


def test_a_normal_interval_needs_two_rounds() -> None:
    with pytest.raises(OPEInputError):
        interval(RoundTerms(np.array([1.0])), IntervalSpec(method="normal"))
    with pytest.raises(OPEInputError):
        bootstrap_values([RoundTerms(np.ones(3)), RoundTerms(np.ones(4))], 10, 0)
