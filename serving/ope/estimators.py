"""The off-policy estimators: IPW (IPS), SNIPW (SNIPS), the Direct Method and Doubly Robust.

With ``w_i = min(pi_e(a_i | x_i) / pscore_i, max_weight)`` the importance weight of the logged action,
``q_hat(x_i, a)`` a reward model's prediction and ``q_hat(x_i, pi_e) = sum_a pi_e(a | x_i) q_hat(x_i, a)``:

======  ============================================================  =====================================
name    value                                                         per-round terms
======  ============================================================  =====================================
ipw     ``mean(w_i r_i)``                                              ``w_i r_i``
snipw   ``sum(w_i r_i) / sum(w_i)``                                    ``w_i r_i`` over ``w_i``
dm      ``mean(q_hat(x_i, pi_e))``                                     ``q_hat(x_i, pi_e)``
dr      ``mean(q_hat(x_i, pi_e) + w_i (r_i - q_hat(x_i, a_i)))``       the bracket
======  ============================================================  =====================================

These are the Open Bandit Pipeline's definitions (``obp.ope``: ``InverseProbabilityWeighting``,
``SelfNormalizedInverseProbabilityWeighting``, ``DirectMethod``, ``DoublyRobust``), slot-aware as there
(``pi_e`` and ``q_hat`` are read in each round's logged slot), reimplemented here; a unit test checks the values
agree with OBP's on the Open Bandit Dataset. Every function is pure: same arrays, same interval spec, same
:class:`Estimate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from serving.ope.errors import OPEConfigError, OPEInputError
from serving.ope.inputs import FloatArray, LoggedBandit, PolicyArrays, resolve
from serving.ope.intervals import ConfidenceInterval, IntervalSpec, RoundTerms, interval

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "direct_method",
    "doubly_robust",
    "estimate_all",
    "importance_weights",
    "ipw",
    "snipw",
]

ESTIMATORS = ("ipw", "snipw", "dm", "dr")


@dataclass(frozen=True, slots=True, eq=False)
class Estimate:
    """One estimator's estimate of an evaluation policy's value on a log (compares by identity: it holds arrays).

    Attributes:
        estimator: ``"ipw"``, ``"snipw"``, ``"dm"`` or ``"dr"``.
        value: the point estimate (expected reward per round under the evaluation policy).
        interval: its confidence interval.
        terms: the per-round terms (kept for the promotion gate's paired comparison).
        log_digest: the :class:`~serving.ope.inputs.LoggedBandit` digest it was computed on.
    """

    estimator: str
    value: float
    interval: ConfidenceInterval
    terms: RoundTerms
    log_digest: str

    @property
    def n_rounds(self) -> int:
        """The number of logged rounds behind the estimate."""
        return self.terms.n_rounds


def ipw(
    log: LoggedBandit,
    action_dist: npt.ArrayLike,
    *,
    max_weight: float = math.inf,
    spec: IntervalSpec | None = None,
) -> Estimate:
    """Inverse propensity weighting (IPS): unbiased when ``pscore`` is the true logging probability.

    Args:
        log: the logged rounds.
        action_dist: the evaluation policy, ``[n, n_actions(, len_list)]`` (see :func:`~serving.ope.inputs.resolve`).
        max_weight: clip importance weights at this value (``inf``: no clipping, as OBP's default).
        spec: the interval to compute (default :class:`IntervalSpec`: seeded bootstrap, 95 %).

    Raises:
        OPEInputError: inconsistent arrays. OPEConfigError: ``max_weight`` not positive.

    >>> log = LoggedBandit(np.array([0, 1]), np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    >>> ipw(log, [[1.0, 0.0], [1.0, 0.0]]).value
    1.0
    """
    arrays = resolve(log, action_dist)
    w = importance_weights(log, arrays, max_weight)
    return _estimate("ipw", log, RoundTerms(w * log.rewards), spec)


def snipw(
    log: LoggedBandit,
    action_dist: npt.ArrayLike,
    *,
    max_weight: float = math.inf,
    spec: IntervalSpec | None = None,
) -> Estimate:
    """Self-normalised IPW (SNIPS): IPW divided by the mean weight; biased but consistent, and bounded by the rewards.

    Raises:
        OPEInputError: inconsistent arrays, or the evaluation policy gives no weight to any logged action.
        OPEConfigError: ``max_weight`` not positive.

    >>> log = LoggedBandit(np.array([0, 1]), np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    >>> snipw(log, [[0.5, 0.5], [0.5, 0.5]]).value
    0.5
    """
    arrays = resolve(log, action_dist)
    w = importance_weights(log, arrays, max_weight)
    if float(w.sum()) <= 0.0:
        raise OPEInputError("the evaluation policy gives no weight to any logged action: SNIPW is undefined")
    return _estimate("snipw", log, RoundTerms(w * log.rewards, w), spec)


def direct_method(
    log: LoggedBandit,
    action_dist: npt.ArrayLike,
    estimated_rewards: npt.ArrayLike,
    *,
    spec: IntervalSpec | None = None,
) -> Estimate:
    """Direct method: the reward model's expected reward under the evaluation policy; as good as the model.

    Args:
        log: the logged rounds (their contexts are behind ``estimated_rewards``; actions and rewards are not used).
        action_dist: the evaluation policy.
        estimated_rewards: ``[n, n_actions(, len_list)]`` reward predictions (cross-fitted, ideally).
        spec: the interval to compute.

    >>> log = LoggedBandit(np.array([0]), np.array([1.0]), np.array([0.5]))
    >>> direct_method(log, [[0.25, 0.75]], [[1.0, 0.0]]).value
    0.25
    """
    arrays = resolve(log, action_dist, estimated_rewards)
    return _estimate("dm", log, RoundTerms(_model_value(arrays)), spec)


def doubly_robust(
    log: LoggedBandit,
    action_dist: npt.ArrayLike,
    estimated_rewards: npt.ArrayLike,
    *,
    max_weight: float = math.inf,
    spec: IntervalSpec | None = None,
) -> Estimate:
    """Doubly robust: DM plus IPW on the model's residual; unbiased if either the propensities or the model are right.

    >>> log = LoggedBandit(np.array([0]), np.array([1.0]), np.array([0.5]))
    >>> doubly_robust(log, [[1.0, 0.0]], [[0.5, 0.0]]).value
    1.5
    """
    arrays = resolve(log, action_dist, estimated_rewards)
    w = importance_weights(log, arrays, max_weight)
    q_hat = _required_q(arrays)
    factual = q_hat[np.arange(log.n_rounds), log.actions]
    return _estimate("dr", log, RoundTerms(_model_value(arrays) + w * (log.rewards - factual)), spec)


def estimate_all(
    log: LoggedBandit,
    action_dist: npt.ArrayLike,
    estimated_rewards: npt.ArrayLike | None = None,
    *,
    max_weight: float = math.inf,
    spec: IntervalSpec | None = None,
) -> dict[str, Estimate]:
    """IPW and SNIPW, and DM and DR when reward predictions are given, keyed by estimator name."""
    out = {
        "ipw": ipw(log, action_dist, max_weight=max_weight, spec=spec),
        "snipw": snipw(log, action_dist, max_weight=max_weight, spec=spec),
    }
    if estimated_rewards is not None:
        out["dm"] = direct_method(log, action_dist, estimated_rewards, spec=spec)
        out["dr"] = doubly_robust(log, action_dist, estimated_rewards, max_weight=max_weight, spec=spec)
    return out


def importance_weights(log: LoggedBandit, arrays: PolicyArrays, max_weight: float = math.inf) -> FloatArray:
    """``min(pi_e(a_i) / pscore_i, max_weight)`` per round.

    Raises:
        OPEConfigError: ``max_weight`` not positive (or nan).
    """
    if not max_weight > 0.0:
        raise OPEConfigError(f"max_weight must be positive, got {max_weight}")
    w = arrays.pi[np.arange(log.n_rounds), log.actions] / log.pscore
    return np.minimum(w, max_weight)


def _model_value(arrays: PolicyArrays) -> FloatArray:
    """``q_hat(x_i, pi_e)`` per round."""
    products: FloatArray = arrays.pi * _required_q(arrays)
    values: FloatArray = products.sum(axis=1)
    return values


def _required_q(arrays: PolicyArrays) -> FloatArray:
    if arrays.q_hat is None:  # resolve() was given estimated_rewards by every caller here
        raise OPEInputError("estimated_rewards are required")
    return arrays.q_hat


def _estimate(name: str, log: LoggedBandit, terms: RoundTerms, spec: IntervalSpec | None) -> Estimate:
    return Estimate(name, terms.value, interval(terms, spec or IntervalSpec()), terms, log.digest)
