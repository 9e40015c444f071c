"""Exploration with exact propensities, and the per-decision seed that makes every draw reproducible.

Every function takes one decision's ``scores[K]`` and ``mask[K]`` (``True`` = allowed) and returns propensities that
are exactly 0 on masked candidates and sum to 1 over the allowed ones (up to float rounding: the greedy action takes
``1 - sum(others)``). The draw is an inverse-CDF lookup of one ``random.Random(seed).random()``.
"""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import numpy.typing as npt

from serving.policy.errors import NoAllowedActionError, PolicyConfigError, PolicyInputError

__all__ = [
    "best_index",
    "check_decision",
    "draw",
    "epsilon_greedy_propensities",
    "greedy_propensities",
    "igw_propensities",
    "seed_for",
    "softmax_propensities",
]

Scores = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def seed_for(decision_id: str) -> int:
    """The exploration seed of a decision: the first 8 bytes of BLAKE2b over its id, as an unsigned integer.

    Stable across processes, machines and Python versions (unlike ``hash()``, which is salted per process).

    >>> seed_for("d-1")
    2459040138847576985
    >>> seed_for("d-1") == seed_for("d-1") != seed_for("d-2")
    True
    """
    return int.from_bytes(hashlib.blake2b(decision_id.encode("utf-8"), digest_size=8).digest(), "big")


def _validated(scores: npt.ArrayLike, mask: npt.ArrayLike) -> tuple[list[float], list[int]]:
    """Scores as a list and the allowed indices (plain Python: for K ~ 25 it beats a dozen small numpy calls)."""
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(mask, dtype=np.bool_)
    if s.ndim != 1 or s.shape != m.shape:
        raise PolicyInputError(f"scores {s.shape} and mask {m.shape} must be equal 1-d shapes")
    values = s.tolist()
    allowed = [i for i, ok in enumerate(m.tolist()) if ok]
    if not allowed:
        raise NoAllowedActionError("every candidate is masked")
    if not all(math.isfinite(values[i]) for i in allowed):
        raise PolicyInputError("an allowed candidate has a non-finite score")
    return values, allowed


def _best(values: list[float], allowed: list[int]) -> int:
    best = allowed[0]
    for i in allowed:
        if values[i] > values[best]:
            best = i
    return best


def _rest_on(p: list[float], best: int) -> Scores:
    """Give the best candidate what the others leave, so the propensities sum to 1."""
    p[best] = 0.0
    p[best] = 1.0 - sum(p)
    return np.array(p, dtype=np.float64)


def check_decision(scores: npt.ArrayLike, mask: npt.ArrayLike) -> tuple[Scores, Mask]:
    """Validate one decision's scores and mask and return them as ``float64`` / ``bool`` vectors.

    Raises:
        PolicyInputError: shapes differ, are not 1-d, or an allowed score is not finite.
        NoAllowedActionError: every candidate is masked.
    """
    _validated(scores, mask)
    return np.asarray(scores, dtype=np.float64), np.asarray(mask, dtype=np.bool_)


def best_index(scores: npt.ArrayLike, mask: npt.ArrayLike) -> int:
    """The allowed candidate with the highest score; ties go to the lowest index.

    >>> best_index([0.3, 0.9, 0.9], [True, False, True])
    2
    """
    return _best(*_validated(scores, mask))


def greedy_propensities(scores: npt.ArrayLike, mask: npt.ArrayLike) -> Scores:
    """All the mass on :func:`best_index` (deterministic policies log propensity 1)."""
    values, allowed = _validated(scores, mask)
    p = [0.0] * len(values)
    p[_best(values, allowed)] = 1.0
    return np.array(p, dtype=np.float64)


def igw_propensities(scores: npt.ArrayLike, mask: npt.ArrayLike, gamma: float) -> Scores:
    """SquareCB's inverse gap weighting (Foster & Rakhlin, 2020).

    With ``n`` allowed candidates and the best allowed score ``s*``: ``p(a) = 1 / (n + gamma * (s* - s_a))`` for
    every allowed ``a`` but the best, which takes the rest. ``gamma = 0`` is uniform; large ``gamma`` is greedy.
    ``gamma`` is in inverse reward units (a gap of ``1/gamma`` halves the uniform share).

    Raises:
        PolicyConfigError: ``gamma`` is negative or not finite.

    >>> [round(float(v), 4) for v in igw_propensities([1.0, 0.0, 0.5, 9.0], [True, True, True, False], gamma=4.0)]
    [0.6571, 0.1429, 0.2, 0.0]
    """
    if not math.isfinite(gamma) or gamma < 0:
        raise PolicyConfigError(f"gamma must be finite and >= 0, got {gamma}")
    values, allowed = _validated(scores, mask)
    best = _best(values, allowed)
    n, top = len(allowed), values[best]
    p = [0.0] * len(values)
    for i in allowed:
        p[i] = 1.0 / (n + gamma * (top - values[i]))
    return _rest_on(p, best)


def epsilon_greedy_propensities(scores: npt.ArrayLike, mask: npt.ArrayLike, epsilon: float) -> Scores:
    """``epsilon`` spread evenly over the allowed candidates, the rest on the best one.

    Raises:
        PolicyConfigError: ``epsilon`` outside [0, 1].

    >>> [float(v) for v in epsilon_greedy_propensities([0.0, 2.0, 1.0], [True, True, False], epsilon=0.5)]
    [0.25, 0.75, 0.0]
    """
    if not 0.0 <= epsilon <= 1.0:
        raise PolicyConfigError(f"epsilon must be in [0, 1], got {epsilon}")
    values, allowed = _validated(scores, mask)
    share = epsilon / len(allowed)
    p = [0.0] * len(values)
    for i in allowed:
        p[i] = share
    return _rest_on(p, _best(values, allowed))


def grouped_epsilon_propensities(
    scores: npt.ArrayLike, mask: npt.ArrayLike, epsilon: float, holdout: float = 0.0
) -> Scores:
    """ε-greedy over *groups*: candidates with equal scores form a group (an action type, say), the best allowed
    candidate (lowest index of the best group) gets ``1 − ε − holdout`` plus its shares, ``ε`` is spread evenly over
    the groups among the allowed candidates, then evenly inside each group, and ``holdout`` goes to candidate 0 (by
    the action space's convention ``none``, never masked): a control group, as a shop keeps a share of its traffic
    without interventions to measure them against. So a decision with one ``none`` and twenty product offers explores
    ``none`` as often as all the offers together, plus the holdout.

    Raises:
        PolicyConfigError: ``epsilon`` or ``holdout`` outside [0, 1], or their sum above 1.

    >>> [round(float(v), 3) for v in grouped_epsilon_propensities([0.0, 1.0, 1.0, 2.0], [True] * 4, epsilon=0.3)]
    [0.1, 0.05, 0.05, 0.8]
    >>> [round(float(v), 3) for v in grouped_epsilon_propensities([0.0, 1.0, 2.0], [True] * 3, 0.3, holdout=0.2)]
    [0.3, 0.1, 0.6]
    """
    if not (0.0 <= epsilon <= 1.0 and 0.0 <= holdout <= 1.0 and epsilon + holdout <= 1.0):
        raise PolicyConfigError(f"epsilon and holdout must be in [0, 1] with a sum <= 1, got {epsilon}, {holdout}")
    values, allowed = _validated(scores, mask)
    groups: dict[float, list[int]] = {}
    for i in allowed:
        groups.setdefault(values[i], []).append(i)
    share = epsilon / len(groups)
    p = [0.0] * len(values)
    for members in groups.values():
        for i in members:
            p[i] = share / len(members)
    best = _best(values, allowed)
    if holdout > 0.0 and 0 in allowed and best != 0:
        p[0] += holdout
    return _rest_on(p, best)


def softmax_propensities(scores: npt.ArrayLike, mask: npt.ArrayLike, temperature: float = 1.0) -> Scores:
    """Boltzmann / softmax over the allowed candidates: ``p(a) ∝ exp(s_a / temperature)``, 0 on masked ones.

    Raises:
        PolicyConfigError: ``temperature`` is not positive.

    >>> [round(float(v), 4) for v in softmax_propensities([0.0, 1.0, 5.0], [True, True, False])]
    [0.2689, 0.7311, 0.0]
    """
    if not temperature > 0:
        raise PolicyConfigError(f"temperature must be > 0, got {temperature}")
    values, allowed = _validated(scores, mask)
    top = max(values[i] for i in allowed) / temperature
    p = [0.0] * len(values)
    for i in allowed:
        p[i] = math.exp(values[i] / temperature - top)
    total = sum(p)
    return np.array([v / total for v in p], dtype=np.float64)


def draw(propensities: npt.ArrayLike, seed: int) -> int:
    """One seeded draw: the index whose CDF interval holds ``random.Random(seed).random()``.

    A candidate with propensity 0 is never drawn (its interval is empty).

    Raises:
        PolicyInputError: propensities are not a 1-d vector of non-negative numbers with a positive sum.

    >>> draw([0.0, 1.0, 0.0], seed=7), draw([0.5, 0.0, 0.5], seed=seed_for("d-1"))
    (1, 0)
    """
    p = np.asarray(propensities, dtype=np.float64)
    if p.ndim != 1:
        raise PolicyInputError("propensities must be a 1-d vector")
    values = p.tolist()
    total = sum(values)
    if not all(math.isfinite(v) and v >= 0 for v in values) or not total > 0:
        raise PolicyInputError("propensities must be a finite, non-negative 1-d vector with a positive sum")
    u = random.Random(seed).random() * total
    acc = 0.0
    for index, value in enumerate(values):
        acc += value
        if u < acc and value > 0:
            return index
    return max(i for i, v in enumerate(values) if v > 0)  # u at the very top of the CDF (rounding)
