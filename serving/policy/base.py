"""The one policy interface: score candidates in batches, choose one per decision with exact propensities, learn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from serving.policy.errors import PolicyInputError
from serving.policy.exploration import greedy_propensities, seed_for

__all__ = [
    "DEFAULT_STRATUM",
    "MASKED_SCORE",
    "Choice",
    "Feedback",
    "GreedyPolicy",
    "Policy",
    "check_batch",
    "decide",
]

MASKED_SCORE: Final = -1e9
"""The score of a masked (or padded) candidate in ``Policy.scores`` and the exported module's output."""

DEFAULT_STRATUM: Final = "all"
"""The replay stratum of feedback that names none."""

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Feedback:
    """One decision's outcome as a learner sees it (arrays as the policy scored them; not modified by learners).

    Attributes:
        state: the state vector ``[S]``.
        candidates: the candidate vectors ``[K, A]``.
        mask: allowed candidates ``[K]``.
        chosen: index of the action taken.
        reward: the attributed reward (``kairos.rewards.v1``).
        propensity: the logged probability of ``chosen`` under the policy that decided, in (0, 1].
        stratum: replay stratum (segment, device, new vs returning...); never a protected attribute.
        next_state: the session's next decision state, ``None`` when the episode ended (bandit learners ignore it).
        next_candidates: that decision's candidates ``[K', A]``.
        next_mask: that decision's mask ``[K']``.
        propensities: every candidate's logged propensity ``[K]`` (``propensity`` is the chosen one's), when the log
            has them: estimators over groups of candidates (an action type) need them.
    """

    state: F32
    candidates: F32
    mask: npt.NDArray[np.bool_]
    chosen: int
    reward: float
    propensity: float
    stratum: str = DEFAULT_STRATUM
    next_state: F32 | None = None
    next_candidates: F32 | None = None
    next_mask: npt.NDArray[np.bool_] | None = None
    propensities: npt.NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        k = self.candidates.shape[0] if self.candidates.ndim == 2 else -1
        if self.state.ndim != 1 or k < 1 or self.mask.shape != (k,) or not 0 <= self.chosen < k:
            raise PolicyInputError("feedback needs state[S], candidates[K, A], mask[K] and 0 <= chosen < K")
        if not 0.0 < self.propensity <= 1.0:
            raise PolicyInputError(f"propensity must be in (0, 1], got {self.propensity}")
        if self.propensities is not None and self.propensities.shape != (k,):
            raise PolicyInputError("propensities must be [K], one per candidate")
        if (self.next_state is None) != (self.next_candidates is None) or (self.next_state is None) != (
            self.next_mask is None
        ):
            raise PolicyInputError("next_state, next_candidates and next_mask come together")

    @property
    def done(self) -> bool:
        """The episode ended with this decision (no next state)."""
        return self.next_state is None


@dataclass(frozen=True, slots=True)
class Choice:
    """One decision's choice: the index, every candidate's propensity and score."""

    index: int
    propensities: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]

    @property
    def propensity(self) -> float:
        """The chosen candidate's propensity (what the decision logs)."""
        return float(self.propensities[self.index])


@runtime_checkable
class Policy(Protocol):
    """What every policy offers the decision agent.

    ``scores`` is what Triton computes remotely for the neural policies (the exported module's ``forward``);
    ``choose`` always runs locally, from those scores, with the decision's seed.
    """

    name: str

    @property
    def version(self) -> str:
        """Identifies the weights (and the state layout) that scored; logged on every decision."""
        ...

    def scores(self, state: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        """Scores ``[N, K]`` of ``candidates[N, K, A]`` in ``state[N, S]``; masked entries are :data:`MASKED_SCORE`."""
        ...

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """One decision's ``(index, propensities[K])``: exact, 0 on masked, summing to 1; the draw uses ``seed``."""
        ...

    def learn_one(self, feedback: Feedback) -> None:
        """Learn from one decision's outcome."""
        ...


class GreedyPolicy:
    """The choosing and learning of a policy that neither explores nor learns (rules, baselines): all the mass on the
    best allowed candidate, lowest index on ties, so the propensity is 1; subclasses provide ``name``, ``version``
    and ``scores``."""

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """The best allowed candidate (lowest index on ties), propensity 1; ``seed`` is unused."""
        del seed
        propensities = greedy_propensities(scores, mask)  # all the mass on best_index(scores, mask)
        return int(propensities.argmax()), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """Does not learn."""
        del feedback


def check_batch(
    state: F32, candidates: F32, mask: npt.NDArray[np.bool_], state_dim: int, action_dim: int
) -> tuple[F32, F32, npt.NDArray[np.bool_]]:
    """Shapes of a scoring batch, as ``float32`` / ``bool`` arrays.

    Raises:
        PolicyInputError: not ``state[N, S]``, ``candidates[N, K, A]``, ``mask[N, K]`` with the policy's S and A.
    """
    s = np.asarray(state, dtype=np.float32)
    c = np.asarray(candidates, dtype=np.float32)
    m = np.asarray(mask, dtype=np.bool_)
    if s.ndim != 2 or c.ndim != 3 or m.ndim != 2:
        raise PolicyInputError(f"need state[N,S], candidates[N,K,A], mask[N,K]; got {s.shape} {c.shape} {m.shape}")
    n, k = c.shape[0], c.shape[1]
    if s.shape != (n, state_dim) or c.shape[2] != action_dim or m.shape != (n, k):
        raise PolicyInputError(
            f"shapes {s.shape} {c.shape} {m.shape} do not match N={n} K={k} S={state_dim} A={action_dim}"
        )
    return s, c, m


def decide(policy: Policy, state: F32, candidates: F32, mask: npt.NDArray[np.bool_], decision_id: str) -> Choice:
    """Score one decision locally and choose with the decision's seed (:func:`seed_for`).

    Args:
        policy: any policy.
        state: the state vector ``[S]``.
        candidates: the candidate vectors ``[K, A]``.
        mask: allowed candidates ``[K]`` (padding and guardrails combined).
        decision_id: the decision's id; the same id reproduces the same choice and propensities.

    Returns:
        The :class:`Choice`.
    """
    scores = policy.scores(state[None, :], candidates[None, :, :], mask[None, :])[0]
    index, propensities = policy.choose(scores, mask, seed_for(decision_id))
    return Choice(index=index, propensities=propensities, scores=scores)
