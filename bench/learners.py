"""The reference learners of ``kairos bench learn`` behind the :class:`~serving.policy.Policy` protocol.

- :class:`VowpalWabbitPolicy`: Vowpal Wabbit ``--cb_explore_adf --squarecb`` with the state as the shared features
  and each allowed candidate's vector as one action (quadratic ``s × a`` interactions, so the state matters).
  Propensities are VW's own pmf over the allowed candidates (float32 from VW, renormalised in float64).
- :class:`RiverLinUCBPolicy`: River's ``bandit.LinUCBDisjoint``: one Bayesian linear regression per action type
  (the disjoint arms), the context the state and the candidate's vector, the upper bound ``mu + sigma``. Greedy on
  the bound, ties split evenly, so a propensity is 1 over the tied candidates.

Both see exactly the vectors the Kairos policy sees (the loop's state ``[S]`` and candidates ``[K, A]``) and learn
from the same :class:`~serving.policy.Feedback` (the attributed composite reward; VW minimises cost = -reward).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import vowpalwabbit
from river import bandit

from serving.policy import MASKED_SCORE, Feedback, PolicyInputError
from serving.policy.exploration import draw

__all__ = ["RiverLinUCBPolicy", "VowpalWabbitPolicy", "action_type_index"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

N_ACTION_TYPES = 7
"""The candidate vector opens with the one-hot action type (``StateEncoder.action_names[:7]``)."""


def action_type_index(candidate: F32) -> int:
    """The action type of a candidate vector: the index of its one-hot type.

    >>> action_type_index(np.array([0, 0, 1, 0, 0, 0, 0, 0.5], dtype=np.float32))
    2
    """
    return int(np.argmax(candidate[:N_ACTION_TYPES]))


def _features(vector: F32, skip: int = 0) -> str:
    """VW text features ``index:value`` of the non-zero entries from ``skip`` on."""
    nonzero = np.flatnonzero(vector[skip:])
    return " ".join(f"{i + skip}:{vector[i + skip]:.6g}" for i in nonzero.tolist())


class VowpalWabbitPolicy:
    """Vowpal Wabbit's contextual bandit with SquareCB exploration (see the module docstring).

    Args:
        seed: VW's ``--random_seed``.
        extra: more VW arguments (e.g. ``"--gamma_scale 10"``).
        name: the policy name logged on decisions.
    """

    def __init__(self, *, seed: int = 0, extra: str = "", name: str = "vw_squarecb") -> None:
        self.name = name
        self.arguments = f"--cb_explore_adf --squarecb -q sa --quiet --random_seed {seed} {extra}".strip()
        self._vw = vowpalwabbit.Workspace(self.arguments)
        self.updates = 0
        self._scored: dict[bytes, tuple[F32, F32]] = {}

    @property
    def version(self) -> str:
        """``<name>-u<updates>``."""
        return f"{self.name}-u{self.updates}"

    def _example(self, state: F32, candidates: F32, allowed: npt.NDArray[np.intp]) -> list[str]:
        return [f"shared |s {_features(state)}", *(f"|a {_features(candidates[i])}" for i in allowed.tolist())]

    def _pmf(self, state: F32, candidates: F32, mask: Mask) -> F64:
        allowed = np.flatnonzero(mask)
        out = np.zeros(len(mask), dtype=np.float64)
        if allowed.size == 0:
            raise PolicyInputError(f"{self.name}: no allowed candidate")
        pmf = np.asarray(self._vw.predict(self._example(state, candidates, allowed)), dtype=np.float64)
        out[allowed] = pmf / pmf.sum()
        return out

    def scores(self, state: F32, candidates: F32, mask: Mask) -> F64:
        """VW's pmf over each row's allowed candidates ``[N, K]``; masked entries are ``MASKED_SCORE``.

        The rows are remembered until :meth:`choose` (by their scores) so a tighter mask there is re-predicted.
        """
        out = np.full(mask.shape, MASKED_SCORE, dtype=np.float64)
        for i in range(len(state)):
            if mask[i].any():
                pmf = self._pmf(state[i], candidates[i], mask[i])
                out[i, mask[i]] = pmf[mask[i]]
                self._scored[out[i].tobytes()] = (state[i], candidates[i])
        return out

    def choose(self, scores: F64, mask: Mask, seed: int) -> tuple[int, F64]:
        """Draw from VW's pmf; when ``mask`` (the guardrails) removes candidates VW scored, VW predicts again on
        the allowed ones, so the propensities are VW's pmf over what may be shown."""
        scores = np.asarray(scores, dtype=np.float64)
        scored = self._scored.pop(scores.tobytes(), None)
        scored_mask = scores > MASKED_SCORE
        if scored is not None and not np.array_equal(scored_mask, mask):
            propensities = self._pmf(scored[0], scored[1], mask)
        elif scored is not None:
            propensities = np.where(mask, scores, 0.0)
        else:
            raise PolicyInputError(f"{self.name}: choose() needs the scores of this policy's scores()")
        return draw(propensities, seed), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """One VW update: cost ``-reward`` with the logged propensity on the chosen candidate."""
        allowed = np.flatnonzero(feedback.mask)
        lines = self._example(feedback.state, feedback.candidates, allowed)
        position = int(np.searchsorted(allowed, feedback.chosen))
        if position >= allowed.size or allowed[position] != feedback.chosen:
            raise PolicyInputError(f"{self.name}: the chosen candidate is masked")
        label = f"0:{-feedback.reward:.6g}:{feedback.propensity:.6g}"
        lines[position + 1] = f"{label} {lines[position + 1]}"
        self._vw.learn(lines)
        self.updates += 1

    def finish(self) -> None:
        """Release VW's workspace."""
        self._vw.finish()


class RiverLinUCBPolicy:
    """River's disjoint LinUCB over the action types (see the module docstring).

    Args:
        alpha: River's ``alpha`` (prior precision of each arm's Bayesian linear regression).
        beta: River's ``beta`` (noise precision).
        seed: River's seed (its own tie-breaking is not used: ties are split with the decision's seed).
        name: the policy name logged on decisions.
    """

    def __init__(self, *, alpha: float = 1.0, beta: float = 1.0, seed: int = 0, name: str = "river_linucb") -> None:
        self.name = name
        self.bandit: Any = bandit.LinUCBDisjoint(alpha=alpha, beta=beta, seed=seed)
        self.updates = 0

    @property
    def version(self) -> str:
        """``<name>-u<updates>``."""
        return f"{self.name}-u{self.updates}"

    @staticmethod
    def _context(state: F32, candidate: F32) -> dict[str, float]:
        context = {f"s{i}": float(state[i]) for i in np.flatnonzero(state).tolist()}
        tail = np.flatnonzero(candidate[N_ACTION_TYPES:]) + N_ACTION_TYPES
        context.update({f"a{i}": float(candidate[i]) for i in tail.tolist()})
        return context

    def _upper_bound(self, state: F32, candidate: F32) -> float:
        # River computes the bound inside pull() over arm ids with one shared context; a candidate's context here
        # includes its own vector, so each bound is asked of its arm's regression, as pull() does: mu + sigma.
        regression: Any = self.bandit._bayes_lin_regs[action_type_index(candidate)]
        dist = regression.predict_one(self._context(state, candidate), with_dist=True)
        return float(dist.mu + dist.sigma)

    def scores(self, state: F32, candidates: F32, mask: Mask) -> F64:
        """Upper confidence bounds ``[N, K]``; masked entries are ``MASKED_SCORE``."""
        out = np.full(mask.shape, MASKED_SCORE, dtype=np.float64)
        for i, k in zip(*np.nonzero(mask), strict=True):
            out[i, k] = self._upper_bound(state[i], candidates[i, k])
        return out

    def choose(self, scores: F64, mask: Mask, seed: int) -> tuple[int, F64]:
        """The largest bound among the allowed candidates; ties share the probability evenly."""
        allowed = np.asarray(mask, dtype=np.bool_)
        if not allowed.any():
            raise PolicyInputError(f"{self.name}: no allowed candidate")
        values = np.where(allowed, np.asarray(scores, dtype=np.float64), -np.inf)
        best = allowed & (values == values.max())
        propensities = best / best.sum()
        return draw(propensities, seed), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """Update the chosen candidate's arm with the reward (River's ``update``)."""
        candidate = feedback.candidates[feedback.chosen]
        self.bandit.update(action_type_index(candidate), self._context(feedback.state, candidate), feedback.reward)
        self.updates += 1
