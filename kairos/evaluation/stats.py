"""Statistics over evaluation seeds: t-intervals, paired relative lifts, one-way ANOVA, chi-square on conversions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Interval", "TestResult", "anova", "chi_square", "relative_lift", "t_interval"]

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean with its two-sided confidence interval over ``n`` values (bounds ``nan`` when ``n < 2``)."""

    mean: float
    low: float
    high: float
    n: int

    def to_json(self, digits: int = 4) -> dict[str, float | int | None]:
        """``{"mean", "low", "high", "n"}`` rounded, ``nan`` as ``None``."""
        return {
            "mean": _round(self.mean, digits),
            "low": _round(self.low, digits),
            "high": _round(self.high, digits),
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class TestResult:
    """A test statistic, its p-value and degrees of freedom (``nan`` when the test is undefined)."""

    statistic: float
    p_value: float
    dof: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        """``{"statistic", "p_value", "dof"}`` (``nan`` as ``None``)."""
        p = float(f"{self.p_value:.4g}") if math.isfinite(self.p_value) else None  # significant digits: p can be 1e-19
        return {"statistic": _round(self.statistic, 4), "p_value": p, "dof": list(self.dof)}


def _round(x: float, digits: int) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean: ``mean ± t_{(1+c)/2, n-1} · sd / sqrt(n)`` (sample sd, ``ddof=1``).

    Args:
        values: one figure per seed (non-finite values are dropped).
        confidence: the two-sided level.

    Returns:
        The :class:`Interval`; with fewer than 2 values its bounds are ``nan``.

    >>> t_interval([1.0, 2.0, 3.0])
    Interval(mean=2.0, low=-0.484137711..., high=4.484137711..., n=3)
    """
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return Interval(NAN, NAN, NAN, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, NAN, NAN, n)
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def relative_lift(arm: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> Interval:
    """Paired relative lift ``arm_i / baseline_i - 1`` per seed, with its t-interval.

    Seeds are paired because every arm sees the same shopper population for a given seed; a seed whose baseline is
    0 (or not finite) has no relative lift and is left out.

    >>> relative_lift([1.1, 2.4], [1.0, 2.0]).mean
    0.15...
    """
    if len(arm) != len(baseline):
        raise ValueError(f"need one value per seed in both arms, got {len(arm)} and {len(baseline)}")
    lifts = [a / b - 1.0 for a, b in zip(arm, baseline, strict=True) if b != 0 and math.isfinite(b)]
    return t_interval(lifts, confidence)


def minimum_detectable_lift(
    arm: Sequence[float], baseline: Sequence[float], confidence: float = 0.95, power: float = 0.8
) -> float:
    """The smallest paired relative lift this many seeds would detect (two-sided ``confidence``, ``power``), from the
    spread of the observed per-seed lifts: ``(t(1 − α/2, n − 1) + t(power, n − 1)) · sd / √n``; ``nan`` below two
    seeds.

    >>> round(minimum_detectable_lift([1.1, 1.3, 1.2], [1.0, 1.0, 1.0]), 4)
    0.3097
    """
    lifts = [a / b - 1.0 for a, b in zip(arm, baseline, strict=True) if b != 0 and math.isfinite(b)]
    n = len(lifts)
    if n < 2:
        return NAN
    sd = float(np.std(lifts, ddof=1))
    t = stats.t.ppf(1.0 - (1.0 - confidence) / 2.0, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * sd / math.sqrt(n))


def anova(groups: Mapping[str, Sequence[float]]) -> TestResult:
    """One-way ANOVA across arms (:func:`scipy.stats.f_oneway`): do the per-seed means differ?

    Undefined (``nan``) with fewer than two groups, a group of fewer than two values, or no variance at all.

    >>> anova({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}).statistic
    13.5
    """
    arrays = [np.asarray(v, dtype=np.float64) for v in groups.values()]
    k, n = len(arrays), sum(a.size for a in arrays)
    dof = (k - 1, n - k)
    if k < 2 or any(a.size < 2 for a in arrays) or all(np.ptp(a) == 0 for a in arrays):
        return TestResult(NAN, NAN, dof)
    result = stats.f_oneway(*arrays)
    return TestResult(float(result.statistic), float(result.pvalue), dof)


def chi_square(conversions: Mapping[str, tuple[int, int]]) -> TestResult:
    """Chi-square test of independence of arm and conversion (:func:`scipy.stats.chi2_contingency`).

    Args:
        conversions: per arm ``(converted sessions, sessions)``, summed over seeds.

    Returns:
        The statistic, p-value and dof; ``nan`` when a column of the table is empty (nobody or everybody
        converted) or there are fewer than two arms. Yates' correction applies only to a 2x2 table (scipy's
        default).

    >>> chi_square({"a": (10, 100), "b": (20, 100), "c": (30, 100)}).statistic
    12.5
    """
    table = np.asarray([[c, n - c] for c, n in conversions.values()], dtype=np.float64)
    if table.shape[0] < 2 or (table < 0).any() or (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return TestResult(NAN, NAN, (max(0, table.shape[0] - 1),))
    statistic, p_value, dof, _ = stats.chi2_contingency(table)
    return TestResult(float(statistic), float(p_value), (int(dof),))
