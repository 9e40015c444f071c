"""From Kairos's logged decisions and their rewards to bandit arrays, so a candidate policy can be evaluated offline.

A :class:`~schemas.decisions.Decision` logs every candidate it considered with the probability the logging policy
gave it (``candidates[i].propensity``; 0 for a candidate the guardrails masked) and the chosen ``action`` with its
``propensity``. Round ``i`` of the :class:`DecisionLog` is one decision: its "actions" are the indices of its own
candidates (``0 .. len(candidates) - 1``, padded with zeros to the widest decision), the logged action is the chosen
candidate's index, ``pscore`` is the decision's propensity and the reward is the one the decision earned.

A candidate policy is then a distribution over each decision's logged candidates
(:meth:`DecisionLog.action_dist`), a reward model a prediction per candidate (:meth:`DecisionLog.estimated_rewards`),
and the estimators of :mod:`serving.ope.estimators` apply as they are. Mass a candidate policy puts on candidates
the logging policy never chose (propensity 0: masked, or a greedy policy's alternatives) is invisible to IPW and
SNIPW; :meth:`DecisionLog.unsupported_mass` measures it. The candidate policy must respect the guardrails itself.

Decisions are published at least once, so duplicates (same ``decision_id``) are dropped, the first kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from schemas.decisions import Decision
from schemas.rewards import Reward, RewardComponent
from serving.ope.errors import DecisionLogError, OPEInputError
from serving.ope.inputs import FloatArray, IntArray, LoggedBandit

__all__ = ["CandidateFn", "DecisionLog", "chosen_index", "decision_log", "final_rewards"]

CandidateFn = Callable[[Decision], npt.ArrayLike]
_PROPENSITY_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class DecisionLog:
    """Logged decisions as bandit rounds (see the module docstring).

    Attributes:
        decisions: the decisions, one per round, duplicates dropped.
        bandit: their chosen candidates' indices, rewards and propensities.
        logging_dist: ``float[n, n_actions]``, every logged candidate's propensity (0 in padding).
        n_candidates: ``int[n]``, each decision's number of candidates.
    """

    decisions: tuple[Decision, ...]
    bandit: LoggedBandit
    logging_dist: FloatArray
    n_candidates: IntArray

    @property
    def decision_ids(self) -> tuple[str, ...]:
        """The decisions' ids, in round order."""
        return tuple(d.decision_id for d in self.decisions)

    @property
    def n_actions(self) -> int:
        """The width of the arrays: the most candidates any decision had."""
        return int(self.logging_dist.shape[1])

    def per_candidate(self, fn: CandidateFn) -> FloatArray:
        """``fn(decision)`` — one value per logged candidate — stacked into ``float[n, n_actions]``, zero-padded.

        Raises:
            OPEInputError: ``fn`` returned the wrong number of values, or a non-finite one.
        """
        out = np.zeros((len(self.decisions), self.n_actions), dtype=np.float64)
        for i, decision in enumerate(self.decisions):
            row = np.asarray(fn(decision), dtype=np.float64)
            if row.shape != (len(decision.candidates),):
                raise OPEInputError(
                    f"decision {decision.decision_id}: {row.shape} values for {len(decision.candidates)} candidates"
                )
            if not bool(np.all(np.isfinite(row))):
                raise OPEInputError(f"decision {decision.decision_id}: non-finite values")
            out[i, : row.shape[0]] = row
        return out

    def action_dist(self, policy: CandidateFn) -> FloatArray:
        """A candidate policy's ``[n, n_actions]`` distribution: ``policy(decision)`` over its candidates, in order.

        Padding gets probability 0; :func:`~serving.ope.inputs.resolve` checks each row sums to 1.
        """
        return self.per_candidate(policy)

    def estimated_rewards(self, model: CandidateFn) -> FloatArray:
        """A reward model's ``[n, n_actions]`` predictions: ``model(decision)`` per candidate, 0 in padding."""
        return self.per_candidate(model)

    def unsupported_mass(self, action_dist: npt.ArrayLike) -> float:
        """Mean probability a candidate policy puts on candidates the logging policy gave probability 0.

        IPW and SNIPW cannot see rewards there (they are biased towards 0 by this mass); DM and DR rely on the model.
        """
        dist = np.asarray(action_dist, dtype=np.float64)
        if dist.shape != self.logging_dist.shape:
            raise OPEInputError(f"action_dist {dist.shape} does not match the log {self.logging_dist.shape}")
        return float(np.where(self.logging_dist > 0.0, 0.0, dist).sum(axis=1).mean())

    def __repr__(self) -> str:
        """Short: a log can hold many decisions."""
        return f"DecisionLog(n_rounds={len(self.decisions)}, n_actions={self.n_actions})"


def decision_log(
    decisions: Iterable[Decision], rewards: Mapping[str, float], *, default_reward: float | None = None
) -> DecisionLog:
    """Bandit rounds from logged decisions and the reward each earned.

    Args:
        decisions: logged decisions, in any order (rounds keep it); duplicates by ``decision_id`` are dropped.
        rewards: the reward per ``decision_id`` (e.g. :func:`final_rewards`).
        default_reward: the reward of a decision missing from ``rewards`` (``None``: that is an error).

    Returns:
        The log.

    Raises:
        DecisionLogError: no decisions; a decision with no candidates, whose chosen action is not among its
            candidates (or ambiguously so), whose propensity disagrees with the chosen candidate's, or with no reward.
    """
    unique: dict[str, Decision] = {}
    for decision in decisions:
        unique.setdefault(decision.decision_id, decision)
    kept = tuple(unique.values())
    if not kept:
        raise DecisionLogError("no decisions to evaluate on")
    width = max(len(d.candidates) for d in kept)
    logging_dist = np.zeros((len(kept), max(width, 1)), dtype=np.float64)
    chosen = np.empty(len(kept), dtype=np.int64)
    earned = np.empty(len(kept), dtype=np.float64)
    for i, decision in enumerate(kept):
        chosen[i] = chosen_index(decision)
        logging_dist[i, : len(decision.candidates)] = [c.propensity for c in decision.candidates]
        earned[i] = _reward_of(decision, rewards, default_reward)
    pscore = np.array([d.propensity for d in kept], dtype=np.float64)
    n_candidates = np.array([len(d.candidates) for d in kept], dtype=np.int64)
    logging_dist.setflags(write=False)
    n_candidates.setflags(write=False)
    return DecisionLog(kept, LoggedBandit(chosen, earned, pscore), logging_dist, n_candidates)


def chosen_index(decision: Decision) -> int:
    """The index of the decision's chosen action among its logged candidates.

    Raises:
        DecisionLogError: no candidates, no candidate with the chosen action, several equally plausible ones, or a
            chosen candidate whose propensity is not the decision's.
    """
    if not decision.candidates:
        raise DecisionLogError(f"decision {decision.decision_id} logged no candidates")
    matches = [i for i, c in enumerate(decision.candidates) if c.action == decision.action]
    if len(matches) > 1:  # the same action listed twice: take the one logged with the decision's propensity
        matches = [i for i in matches if _same(decision.candidates[i].propensity, decision.propensity)]
    if len(matches) != 1:
        problem = "is not among its candidates" if not matches else "matches several candidates"
        raise DecisionLogError(f"decision {decision.decision_id}: the chosen action {problem}")
    index = matches[0]
    if not _same(decision.candidates[index].propensity, decision.propensity):
        raise DecisionLogError(
            f"decision {decision.decision_id}: propensity {decision.propensity} but the chosen candidate's is "
            f"{decision.candidates[index].propensity}"
        )
    return index


def final_rewards(
    rewards: Iterable[Reward], component: RewardComponent = RewardComponent.COMPOSITE
) -> dict[str, float]:
    """The final reward of each decision for one component, from records as published on ``kairos.rewards.v1``.

    Partial rewards and other components are ignored; replayed copies (same ``reward_id``) count once.

    Raises:
        DecisionLogError: two different final rewards for one decision and component.
    """
    seen: set[str] = set()
    out: dict[str, float] = {}
    for reward in rewards:
        if not reward.final or reward.component != component or reward.reward_id in seen:
            continue
        seen.add(reward.reward_id)
        if reward.decision_id in out and out[reward.decision_id] != reward.value:
            raise DecisionLogError(f"decision {reward.decision_id} has two final {component.value} rewards")
        out[reward.decision_id] = reward.value
    return out


def _reward_of(decision: Decision, rewards: Mapping[str, float], default: float | None) -> float:
    value = rewards.get(decision.decision_id, default)
    if value is None:
        raise DecisionLogError(f"decision {decision.decision_id} has no reward")
    return float(value)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _PROPENSITY_TOLERANCE
