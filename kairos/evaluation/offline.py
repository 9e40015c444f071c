"""Offline policy learning from logged bandit rounds, and its off-policy value on rounds it did not learn from.

The learning is :func:`~kairos.evaluation.history.warm_start`, the path Kairos trains a first policy with before it
goes live: logged :class:`~serving.policy.Feedback` records fed to the policy's ``learn_one`` once, in log order.
The evaluation is ``serving.ope``'s IPW, SNIPW, DM and DR on *held-out* rounds, with the learned policy's scores
as the reward model of DM and DR (fitted on the training rounds only, so it is independent of every round it
predicts for, which is what DR's unbiasedness needs).

A log is described by :class:`LoggedRounds`: arrays of the logged choices, and a function that builds the candidate
vectors of any subset of rounds (candidates can be large, e.g. state ⊗ item interactions, so they are built chunk by
chunk and never held for the whole log).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kairos.evaluation.history import warm_start
from serving.ope import Estimate, IntervalSpec, LoggedBandit, OPEConfigError, direct_method, doubly_robust, ipw, snipw
from serving.ope.intervals import RoundTerms, interval
from serving.policy import Feedback, Policy

__all__ = [
    "CandidateFn",
    "LoggedRounds",
    "OffPolicyValue",
    "evaluate",
    "feedback",
    "learn",
    "on_policy_value",
    "score",
    "top_k",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

CandidateFn = Callable[[I64], F32]
"""Row indices ``[b]`` → the candidate vectors of those rounds ``[b, K, A]``."""

_CHUNK = 256


@dataclass(frozen=True, slots=True)
class LoggedRounds:
    """Logged bandit rounds with every candidate's vector.

    Attributes:
        states: ``[n, S]``.
        candidates: builds ``[b, K, A]`` for row indices ``[b]``.
        actions: the logged candidate index ``[n]``.
        rewards: ``[n]``.
        pscores: the logging policy's probability of the logged action ``[n]``, in (0, 1].
        n_candidates: K.
    """

    states: F32
    candidates: CandidateFn
    actions: I64
    rewards: F64
    pscores: F64
    n_candidates: int

    @property
    def n_rounds(self) -> int:
        """The number of rounds."""
        return int(self.actions.shape[0])

    def logged(self) -> LoggedBandit:
        """The rounds as ``serving.ope`` takes them."""
        return LoggedBandit(self.actions, self.rewards, self.pscores)


@dataclass(frozen=True, slots=True)
class OffPolicyValue:
    """A policy's estimated value on held-out rounds.

    Attributes:
        estimates: ``ipw``, ``snipw``, ``dm`` and ``dr`` (each with its interval).
        action_dist: the evaluated policy ``[n, K]``.
        matches: rounds whose logged action the policy could have taken (positive weight).
        matched_reward: the reward summed over those rounds (with rare rewards, 0 makes IPW 0 and its bootstrap
            interval degenerate at ``[0, 0]``: not evidence of a worthless policy, only of too few matches).
    """

    estimates: dict[str, Estimate]
    action_dist: F64
    matches: int
    matched_reward: float


def feedback(rounds: LoggedRounds, rows: I64) -> Iterator[Feedback]:
    """The :class:`~serving.policy.Feedback` of ``rows``, in order: every candidate allowed, the logged choice, its
    propensity; ``propensities`` only when the logging policy was uniform (the only case whose other candidates'
    probabilities the log implies)."""
    mask = np.ones(rounds.n_candidates, dtype=np.bool_)
    for start in range(0, rows.shape[0], _CHUNK):
        chunk = rows[start : start + _CHUNK]
        candidates = rounds.candidates(chunk)
        for j, i in enumerate(chunk):
            p = float(rounds.pscores[i])
            uniform = math.isclose(p, 1.0 / rounds.n_candidates, rel_tol=1e-9)
            yield Feedback(
                state=rounds.states[i],
                candidates=candidates[j],
                mask=mask,
                chosen=int(rounds.actions[i]),
                reward=float(rounds.rewards[i]),
                propensity=p,
                propensities=np.full(rounds.n_candidates, p) if uniform else None,
            )


def learn(policy: Policy, rounds: LoggedRounds, rows: I64) -> Policy:
    """Train ``policy`` on ``rows`` with :func:`~kairos.evaluation.history.warm_start` (one ``learn_one`` per
    round, in order), a chunk of feedback at a time; returns it."""
    for start in range(0, rows.shape[0], _CHUNK):
        warm_start(policy, tuple(feedback(rounds, rows[start : start + _CHUNK])))
    return policy


def score(policy: Policy, rounds: LoggedRounds, rows: I64) -> F64:
    """The policy's scores ``[len(rows), K]`` of every candidate of ``rows`` (its estimated expected rewards)."""
    out = np.empty((rows.shape[0], rounds.n_candidates), dtype=np.float64)
    mask = np.ones((1, rounds.n_candidates), dtype=np.bool_)
    for start in range(0, rows.shape[0], _CHUNK):
        chunk = rows[start : start + _CHUNK]
        out[start : start + chunk.shape[0]] = policy.scores(
            rounds.states[chunk], rounds.candidates(chunk), np.repeat(mask, chunk.shape[0], axis=0)
        )
    return out


def top_k(scores: F64, k: int) -> F64:
    """The policy uniform over the ``k`` best-scored candidates of each round (``k = 1``: greedy; ties to the lower
    index).

    Raises:
        OPEConfigError: ``k`` outside ``[1, K]``.

    >>> top_k(np.array([[0.1, 0.3, 0.2]]), 2).tolist()
    [[0.0, 0.5, 0.5]]
    """
    n_candidates = scores.shape[1]
    if not 1 <= k <= n_candidates:
        raise OPEConfigError(f"k must be in [1, {n_candidates}], got {k}")
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    dist = np.zeros_like(scores, dtype=np.float64)
    np.put_along_axis(dist, best, 1.0 / k, axis=1)
    return dist


def evaluate(rounds: LoggedRounds, rows: I64, scores: F64, k: int, spec: IntervalSpec) -> OffPolicyValue:
    """IPW, SNIPW, DM and DR of the top-``k`` policy of ``scores`` on ``rows``, with ``scores`` (clipped to the
    rewards' range) as the reward model.

    Args:
        rounds: the log.
        rows: held-out rows (the policy and its scores must not have learned from them).
        scores: the policy's scores of those rows ``[len(rows), K]``.
        k: the policy takes one of its ``k`` best candidates, uniformly.
        spec: the intervals.
    """
    log = LoggedBandit(rounds.actions[rows], rounds.rewards[rows], rounds.pscores[rows])
    dist = top_k(scores, k)
    low, high = float(rounds.rewards.min()), float(rounds.rewards.max())
    q_hat = np.clip(scores, low, high)
    estimates = {
        "ipw": ipw(log, dist, spec=spec),
        "snipw": snipw(log, dist, spec=spec),
        "dm": direct_method(log, dist, q_hat, spec=spec),
        "dr": doubly_robust(log, dist, q_hat, spec=spec),
    }
    matched = dist[np.arange(rows.shape[0]), rounds.actions[rows]] > 0
    return OffPolicyValue(estimates, dist, int(matched.sum()), float(rounds.rewards[rows][matched].sum()))


def on_policy_value(rewards: F64, spec: IntervalSpec) -> tuple[float, float, float]:
    """The logging policy's own value: the mean reward and its interval, ``(value, lower, upper)``.

    >>> on_policy_value(np.array([0.0, 1.0, 0.0, 1.0]), IntervalSpec(method="normal"))[0]
    0.5
    """
    terms = RoundTerms(np.asarray(rewards, dtype=np.float64))
    ci = interval(terms, spec)
    return terms.value, ci.lower, ci.upper
