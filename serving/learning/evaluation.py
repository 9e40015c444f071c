"""Off-policy comparison of two policies on logged, rewarded rounds: both as target policies, one paired gate.

Each policy's distribution over a round's logged candidates is what it would do there: its scores of the round's
state and candidates, turned into propensities by its own ``choose`` (exact, and independent of the draw's seed),
over the same mask the logging policy saw. The rounds' logged propensities make the log; the configured estimator
(SNIPW by default: bounded by the rewards, lower variance than IPW) values both policies on it, and
:func:`~serving.ope.should_promote` decides on the paired difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from serving.learning.join import Round
from serving.ope import IntervalSpec, LoggedBandit, PromotionDecision, ipw, should_promote, snipw
from serving.policy.base import Policy

__all__ = ["GateEstimator", "compare", "logged_bandit", "target_distribution"]

GateEstimator = Literal["ipw", "snipw"]


def _padded(rounds: Sequence[Round]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    width = max(len(r.context.candidates) for r in rounds)
    action_dim = len(rounds[0].context.candidates[0])
    states = np.asarray([r.context.state for r in rounds], dtype=np.float32)
    candidates = np.zeros((len(rounds), width, action_dim), dtype=np.float32)
    mask = np.zeros((len(rounds), width), dtype=np.bool_)
    for i, r in enumerate(rounds):
        k = len(r.context.candidates)
        candidates[i, :k] = r.context.candidates
        mask[i, :k] = r.context.mask
    return states, candidates, mask


def target_distribution(policy: Policy, rounds: Sequence[Round]) -> npt.NDArray[np.float64]:
    """``[n, max K]``: the probability ``policy`` gives each logged candidate of each round (0 in padding).

    Args:
        policy: any policy.
        rounds: joined rounds (at least one).
    """
    states, candidates, mask = _padded(rounds)
    scores = policy.scores(states, candidates, mask)
    out = np.zeros(mask.shape, dtype=np.float64)
    for i in range(len(rounds)):
        _index, propensities = policy.choose(scores[i], mask[i], 0)
        out[i] = propensities
    return out


def logged_bandit(rounds: Sequence[Round]) -> LoggedBandit:
    """The rounds as logged bandit data: the chosen candidate, its reward and logged propensity."""
    return LoggedBandit(
        np.array([r.context.chosen for r in rounds], dtype=np.int64),
        np.array([r.reward for r in rounds], dtype=np.float64),
        np.array([r.context.propensity for r in rounds], dtype=np.float64),
    )


def compare(
    candidate: Policy,
    incumbent: Policy,
    rounds: Sequence[Round],
    *,
    margin: float,
    confidence: float,
    estimator: GateEstimator = "snipw",
    max_weight: float = math.inf,
    n_bootstrap: int = 1000,
    seed: int = 12345,
) -> PromotionDecision:
    """Whether ``candidate`` beats ``incumbent`` on ``rounds`` by ``margin`` with ``confidence`` (paired bootstrap).

    Raises:
        OPEInputError: no rounds, or neither policy puts weight on any logged action (SNIPW undefined).
    """
    log = logged_bandit(rounds)
    spec = IntervalSpec(n_bootstrap=n_bootstrap, seed=seed)
    value = snipw if estimator == "snipw" else ipw
    cand = value(log, target_distribution(candidate, rounds), max_weight=max_weight, spec=spec)
    inc = value(log, target_distribution(incumbent, rounds), max_weight=max_weight, spec=spec)
    return should_promote(cand, inc, margin, confidence, n_bootstrap=n_bootstrap, seed=seed)
