"""Off-policy evaluation: IPW, SNIPW, DM and DR over logged bandit data, confidence intervals, the promotion gate.

Pure and deterministic: arrays in, :class:`Estimate` out (the bootstrap is seeded). :func:`decision_log` turns
Kairos's logged decisions and rewards into those arrays; :func:`should_promote` decides whether a candidate policy
beats the incumbent by a margin with confidence. See docs/ope.md.
"""

from serving.ope.decisions import CandidateFn, DecisionLog, chosen_index, decision_log, final_rewards
from serving.ope.errors import (
    DecisionLogError,
    IncomparableEstimatesError,
    OPEConfigError,
    OPEError,
    OPEInputError,
)
from serving.ope.estimators import (
    ESTIMATORS,
    Estimate,
    direct_method,
    doubly_robust,
    estimate_all,
    importance_weights,
    ipw,
    snipw,
)
from serving.ope.gate import PromotionDecision, should_promote
from serving.ope.inputs import FloatArray, IntArray, LoggedBandit, PolicyArrays, resolve
from serving.ope.intervals import (
    ConfidenceInterval,
    IntervalMethod,
    IntervalSpec,
    RoundTerms,
    bootstrap_values,
    interval,
    normal_quantile,
    standard_error,
)

__all__ = [
    "ESTIMATORS",
    "CandidateFn",
    "ConfidenceInterval",
    "DecisionLog",
    "DecisionLogError",
    "Estimate",
    "FloatArray",
    "IncomparableEstimatesError",
    "IntArray",
    "IntervalMethod",
    "IntervalSpec",
    "LoggedBandit",
    "OPEConfigError",
    "OPEError",
    "OPEInputError",
    "PolicyArrays",
    "PromotionDecision",
    "RoundTerms",
    "bootstrap_values",
    "chosen_index",
    "decision_log",
    "direct_method",
    "doubly_robust",
    "estimate_all",
    "final_rewards",
    "importance_weights",
    "interval",
    "ipw",
    "normal_quantile",
    "resolve",
    "should_promote",
    "snipw",
    "standard_error",
]
