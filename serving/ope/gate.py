"""The promotion gate: a candidate policy replaces the incumbent only when it is better by a margin, with confidence.

Both policies are evaluated by the same estimator on the same logged rounds, so their per-round terms are paired.
The gate computes a one-sided lower confidence bound of ``candidate - incumbent`` and promotes only when that bound
exceeds ``margin`` (in reward units per round):

* ``bootstrap`` (default): the same resampled rounds for both estimates (``numpy.random.default_rng(seed)``); the
  bound is the ``1 - confidence`` quantile of the resampled differences.
* ``normal``: ``difference - z_confidence · se``, with ``se`` from the paired linearised terms.

Pairing matters: both estimates move together with the rounds drawn (the same rewards, the same large weights), so
the difference is far more certain than the two separate intervals suggest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.ope.errors import IncomparableEstimatesError, OPEConfigError, OPEInputError
from serving.ope.estimators import Estimate
from serving.ope.intervals import IntervalMethod, bootstrap_values, normal_quantile, standard_error

__all__ = ["PromotionDecision", "should_promote"]


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    """The gate's verdict and the numbers behind it; truthy exactly when ``promote`` is.

    Attributes:
        promote: whether the candidate should replace the incumbent.
        difference: candidate estimate minus incumbent estimate.
        lower_bound: one-sided lower confidence bound of the difference at ``confidence``.
        margin: the required improvement.
        confidence: the one-sided confidence level.
        estimator: the estimator both estimates came from.
        method: how the bound was computed.
        reason: one line for logs.
    """

    promote: bool
    difference: float
    lower_bound: float
    margin: float
    confidence: float
    estimator: str
    method: IntervalMethod
    reason: str

    def __bool__(self) -> bool:
        """``if should_promote(...):`` reads as intended."""
        return self.promote


def should_promote(
    candidate_estimate: Estimate,
    incumbent_estimate: Estimate,
    margin: float,
    confidence: float = 0.95,
    *,
    method: IntervalMethod = "bootstrap",
    n_bootstrap: int = 2000,
    seed: int = 12345,
) -> PromotionDecision:
    """Promote the candidate only if the lower confidence bound of its improvement exceeds ``margin``.

    Args:
        candidate_estimate: the candidate policy's estimate.
        incumbent_estimate: the incumbent's, by the same estimator on the same log.
        margin: the required improvement in reward per round, ``>= 0`` (0: better with confidence is enough).
        confidence: one-sided confidence of the bound, in (0, 1).
        method: ``"bootstrap"`` (paired, seeded) or ``"normal"``.
        n_bootstrap: resamples for the bootstrap.
        seed: the bootstrap's seed.

    Returns:
        The verdict; ``promote`` is ``lower_bound > margin``.

    Raises:
        IncomparableEstimatesError: different estimators, or different logs (digests).
        OPEConfigError: a negative margin, a confidence outside (0, 1), an unknown method, < 2 resamples.
        OPEInputError: a normal bound from fewer than 2 rounds.
    """
    _check(candidate_estimate, incumbent_estimate, margin, confidence, method=method, n_bootstrap=n_bootstrap)
    difference = candidate_estimate.value - incumbent_estimate.value
    if method == "normal":
        paired = candidate_estimate.terms.influence() - incumbent_estimate.terms.influence()
        lower = difference - normal_quantile(confidence) * standard_error(paired)
    else:
        values = bootstrap_values([candidate_estimate.terms, incumbent_estimate.terms], n_bootstrap, seed)
        differences = values[0] - values[1]
        if bool(np.all(np.isnan(differences))):
            raise OPEInputError("every bootstrap resample was undefined (zero total weight)")
        lower = float(np.nanquantile(differences, 1.0 - confidence))
    promote = lower > margin
    verdict = "promote" if promote else "keep incumbent"
    reason = (
        f"{verdict}: {candidate_estimate.estimator} difference {difference:.6g}, {confidence:.0%} lower bound "
        f"{lower:.6g} {'>' if promote else '<='} margin {margin:.6g} ({method})"
    )
    return PromotionDecision(
        promote=promote,
        difference=difference,
        lower_bound=lower,
        margin=margin,
        confidence=confidence,
        estimator=candidate_estimate.estimator,
        method=method,
        reason=reason,
    )


def _check(
    candidate: Estimate, incumbent: Estimate, margin: float, confidence: float, *, method: str, n_bootstrap: int
) -> None:
    if candidate.estimator != incumbent.estimator:
        raise IncomparableEstimatesError(
            f"estimates by different estimators ({candidate.estimator} vs {incumbent.estimator})"
        )
    if candidate.log_digest != incumbent.log_digest:
        raise IncomparableEstimatesError("estimates computed on different logs: a paired comparison needs one log")
    if not margin >= 0.0:
        raise OPEConfigError(f"margin must be >= 0, got {margin}")
    if not 0.0 < confidence < 1.0:
        raise OPEConfigError(f"confidence must be in (0, 1), got {confidence}")
    if method not in ("bootstrap", "normal"):
        raise OPEConfigError(f"unknown method {method!r}")
    if n_bootstrap < 2:
        raise OPEConfigError(f"n_bootstrap must be >= 2, got {n_bootstrap}")
