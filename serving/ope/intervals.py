"""Confidence intervals of an estimate from its per-round terms: a seeded percentile bootstrap or a normal one.

Every estimator here is a ratio of sums over the logged rounds, ``value = sum(num) / sum(den)``, with ``den = 1``
for IPW, DM and DR (a plain mean) and ``den = w`` for SNIPW. :class:`RoundTerms` keeps the two arrays, so an
interval — and the promotion gate's paired comparison — resamples *rounds* and recomputes the whole statistic.

* ``bootstrap`` (the default): ``n_bootstrap`` resamples of the n rounds with replacement, drawn from
  ``numpy.random.default_rng(seed)``; the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
  resampled values (linear interpolation, as OBP). Same seed, same terms: same interval, in any process.
* ``normal``: ``value ± z · se`` with ``se`` the standard deviation (``ddof = 1``) of the linearised terms
  ``(num - value · den) / mean(den)`` over ``sqrt(n)`` (the delta method; for a plain mean, its standard error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, TypeAlias

import numpy as np

from serving.ope.errors import OPEConfigError, OPEInputError
from serving.ope.inputs import FloatArray

__all__ = [
    "ConfidenceInterval",
    "IntervalMethod",
    "IntervalSpec",
    "RoundTerms",
    "bootstrap_values",
    "interval",
    "normal_quantile",
    "standard_error",
]

IntervalMethod: TypeAlias = Literal["bootstrap", "normal"]
_INDICES_PER_CHUNK = 1 << 22  # resample indices held at once (32 MiB of int64)


@dataclass(frozen=True, slots=True)
class IntervalSpec:
    """How to compute a confidence interval.

    Attributes:
        method: ``"bootstrap"`` (seeded percentile bootstrap) or ``"normal"`` (normal approximation).
        level: two-sided coverage, in (0, 1).
        n_bootstrap: resamples for the bootstrap (OBP's default is 10,000; the cost is ``n_bootstrap × n``).
        seed: seed of the bootstrap's ``numpy.random.default_rng``.

    Raises:
        OPEConfigError: an unknown method, a level outside (0, 1), fewer than 2 resamples, a negative seed.
    """

    method: IntervalMethod = "bootstrap"
    level: float = 0.95
    n_bootstrap: int = 2000
    seed: int = 12345

    def __post_init__(self) -> None:
        """Reject settings that cannot give an interval."""
        if self.method not in ("bootstrap", "normal"):
            raise OPEConfigError(f"unknown interval method {self.method!r}")
        if not 0.0 < self.level < 1.0:
            raise OPEConfigError(f"level must be in (0, 1), got {self.level}")
        if self.n_bootstrap < 2:
            raise OPEConfigError(f"n_bootstrap must be >= 2, got {self.n_bootstrap}")
        if self.seed < 0:
            raise OPEConfigError(f"seed must be non-negative, got {self.seed}")


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A two-sided interval around an estimate, and how it was computed."""

    lower: float
    upper: float
    level: float
    method: IntervalMethod


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class RoundTerms:
    """An estimator's per-round terms: ``value = sum(numerator) / sum(denominator)``.

    Attributes:
        numerator: ``float[n]``.
        denominator: ``float[n]``, or ``None`` for 1 in every round (the estimate is the numerator's mean).

    >>> RoundTerms(np.array([1.0, 3.0])).value
    2.0
    >>> RoundTerms(np.array([2.0, 0.0]), np.array([2.0, 2.0])).value
    0.5
    """

    numerator: FloatArray
    denominator: FloatArray | None = None

    @property
    def n_rounds(self) -> int:
        """The number of rounds."""
        return int(self.numerator.shape[0])

    @property
    def value(self) -> float:
        """The estimate these terms make."""
        if self.denominator is None:
            return float(self.numerator.mean())
        return float(self.numerator.sum() / self.denominator.sum())

    def influence(self) -> FloatArray:
        """Linearised per-round terms: their mean is 0 and their spread gives the delta-method standard error."""
        value = self.value
        if self.denominator is None:
            return self.numerator - value
        return (self.numerator - value * self.denominator) / float(self.denominator.mean())

    def __repr__(self) -> str:
        """Short: the arrays can hold millions of rounds."""
        ratio = "" if self.denominator is None else ", ratio"
        return f"RoundTerms(n_rounds={self.n_rounds}, value={self.value!r}{ratio})"


def bootstrap_values(terms: Sequence[RoundTerms], n_bootstrap: int, seed: int) -> FloatArray:
    """Resample rounds with replacement; recompute every term set's value on each resample (paired when several).

    Args:
        terms: one or more term sets over the same ``n`` rounds; each resample uses the same round indices for all.
        n_bootstrap: the number of resamples.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``float[len(terms), n_bootstrap]``; ``nan`` for a ratio whose resampled denominator sums to 0.

    Raises:
        OPEInputError: no terms, or term sets of different lengths.

    >>> terms = RoundTerms(np.array([0.0, 1.0, 2.0]))
    >>> values = bootstrap_values([terms], n_bootstrap=4, seed=7)
    >>> values.shape, bool(np.array_equal(values, bootstrap_values([terms], n_bootstrap=4, seed=7)))
    ((1, 4), True)
    """
    if not terms:
        raise OPEInputError("no terms to resample")
    n = terms[0].n_rounds
    if any(t.n_rounds != n for t in terms):
        raise OPEInputError("paired resampling needs term sets over the same rounds")
    rng = np.random.default_rng(seed)
    out = np.empty((len(terms), n_bootstrap), dtype=np.float64)
    chunk = max(1, _INDICES_PER_CHUNK // n)
    for start in range(0, n_bootstrap, chunk):
        size = min(chunk, n_bootstrap - start)
        idx = rng.integers(0, n, size=(size, n))
        for k, t in enumerate(terms):
            numerator = t.numerator[idx].sum(axis=1)
            if t.denominator is None:
                out[k, start : start + size] = numerator / n
            else:
                denominator = t.denominator[idx].sum(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    out[k, start : start + size] = np.where(denominator != 0.0, numerator / denominator, np.nan)
    return out


def interval(terms: RoundTerms, spec: IntervalSpec) -> ConfidenceInterval:
    """The two-sided confidence interval of the estimate ``terms`` make.

    Raises:
        OPEInputError: a normal interval from fewer than 2 rounds, or a bootstrap whose every resample was undefined.
    """
    alpha = 1.0 - spec.level
    if spec.method == "normal":
        half = normal_quantile(1.0 - alpha / 2.0) * standard_error(terms.influence())
        return ConfidenceInterval(terms.value - half, terms.value + half, spec.level, "normal")
    values = bootstrap_values([terms], spec.n_bootstrap, spec.seed)[0]
    if bool(np.all(np.isnan(values))):
        raise OPEInputError("every bootstrap resample was undefined (zero total weight)")
    lower, upper = np.nanquantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return ConfidenceInterval(float(lower), float(upper), spec.level, "bootstrap")


def standard_error(influence: FloatArray) -> float:
    """Standard error of a mean from its linearised terms (``ddof = 1``).

    Raises:
        OPEInputError: fewer than 2 rounds.
    """
    n = influence.shape[0]
    if n < 2:
        raise OPEInputError("a normal interval needs at least 2 rounds")
    return float(influence.std(ddof=1)) / math.sqrt(n)


def normal_quantile(p: float) -> float:
    """The standard normal quantile (``statistics.NormalDist``; no scipy in the serving path).

    >>> round(normal_quantile(0.975), 4)
    1.96
    """
    return NormalDist().inv_cdf(p)
