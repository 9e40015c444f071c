"""Evaluation statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from kairos.evaluation import stats
from kairos.evaluation.stats import anova, chi_square, relative_lift, t_interval


def test_t_interval_by_hand() -> None:
    # mean 5, sample sd sqrt(10/3) = 1.8257, se 0.9129, t(0.975, 3) = 3.182446
    got = t_interval([3.0, 4.0, 6.0, 7.0])
    half = 3.182446305284263 * math.sqrt(10.0 / 3.0) / 2.0
    assert got.mean == 5.0 and got.n == 4
    assert got.low == pytest.approx(5.0 - half) and got.high == pytest.approx(5.0 + half)


def test_t_interval_narrows_with_confidence() -> None:
    wide, narrow = t_interval([1.0, 2.0, 4.0], 0.99), t_interval([1.0, 2.0, 4.0], 0.90)
    assert wide.low < narrow.low < narrow.high < wide.high


@pytest.mark.parametrize(("values", "n"), [([], 0), ([2.0], 1), ([2.0, float("nan")], 1)])
def test_t_interval_needs_two_values(values: list[float], n: int) -> None:
    got = t_interval(values)
    assert got.n == n and math.isnan(got.low) and math.isnan(got.high)
    assert got.to_json()["low"] is None


def test_relative_lift_is_paired_by_seed() -> None:
    # lifts 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.057735, t(0.975, 2) = 4.302653
    got = relative_lift([1.1, 2.4, 1.3], [1.0, 2.0, 1.0])
    assert got.mean == pytest.approx(0.2)
    assert got.high - got.mean == pytest.approx(4.302652729749464 * 0.1 / math.sqrt(3))


def test_relative_lift_skips_zero_baselines_and_checks_lengths() -> None:
    assert relative_lift([1.0, 3.0, 4.0], [0.0, 2.0, 2.0]).n == 2
    with pytest.raises(ValueError, match="one value per seed"):
        relative_lift([1.0], [1.0, 2.0])


def test_anova_by_hand() -> None:
    # group means 2, 4, 6 around 4: SSB = 3 * (4 + 0 + 4) = 24; SSW = 2 + 2 + 2 = 6; F = (24 / 2) / (6 / 6) = 12
    got = anova({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 5.0], "c": [5.0, 6.0, 7.0]})
    assert got.dof == (2, 6)
    assert got.statistic == pytest.approx((24.0 / 2) / (6.0 / 6))
    assert got.p_value == pytest.approx((1.0 + 2.0 * 12.0 / 6.0) ** -3)  # F(2, d) survival: (1 + 2F/d)^(-d/2)


def test_anova_is_undefined_without_variance_or_groups() -> None:
    assert math.isnan(anova({"a": [1.0, 1.0], "b": [1.0, 1.0]}).statistic)
    assert math.isnan(anova({"a": [1.0, 2.0]}).p_value)
    assert math.isnan(anova({"a": [1.0], "b": [2.0, 3.0]}).p_value)


def test_chi_square_by_hand() -> None:
    # expected 20/80 per row: (10^2/20 + 10^2/80) * 2 = 12.5 on 2 dof, whose survival function is exp(-x/2)
    got = chi_square({"a": (10, 100), "b": (20, 100), "c": (30, 100)})
    assert got.statistic == pytest.approx(12.5) and got.dof == (2,)
    assert got.p_value == pytest.approx(math.exp(-12.5 / 2))


def test_chi_square_is_undefined_when_nobody_converts() -> None:
    got = chi_square({"a": (0, 100), "b": (0, 50)})
    assert math.isnan(got.statistic) and got.to_json()["statistic"] is None


def test_tiny_p_values_keep_their_significant_digits() -> None:
    out = stats.TestResult(500.0, 1.03e-19, (4, 20)).to_json()
    assert out["p_value"] == 1.03e-19 and out["dof"] == [4, 20]
