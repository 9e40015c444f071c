"""A stratified replay buffer: one ring per stratum, batches drawn in fixed per-stratum proportions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from serving.policy.base import DEFAULT_STRATUM, Feedback
from serving.policy.errors import PolicyConfigError, UnknownStratumError

__all__ = ["DEFAULT_REPLAY_CAPACITY", "StratifiedReplayBuffer", "Transition"]

DEFAULT_REPLAY_CAPACITY: Final = 50_000
"""Replay capacity of the DQN source (004)."""

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Transition:
    """What Q-learning keeps of a decision: the state, the chosen action's vector, the reward, what came next."""

    state: F32
    action: F32
    reward: float
    next_state: F32 | None = None
    next_candidates: F32 | None = None
    next_mask: npt.NDArray[np.bool_] | None = None

    @classmethod
    def from_feedback(cls, feedback: Feedback) -> Transition:
        """Keep the chosen candidate only (a transition costs ``S + A`` floats, plus the next decision's arrays)."""
        return cls(
            state=feedback.state,
            action=feedback.candidates[feedback.chosen],
            reward=feedback.reward,
            next_state=feedback.next_state,
            next_candidates=feedback.next_candidates,
            next_mask=feedback.next_mask,
        )


class StratifiedReplayBuffer:
    """Replay memory partitioned by a stratum key, sampled in fixed proportions whatever the traffic mix.

    Each stratum has its own ring of ``max(1, floor(capacity * share))`` transitions (the oldest is overwritten), so a
    rare stratum is neither crowded out of memory nor of batches. A batch of ``B`` gets ``B * share`` transitions per
    stratum, rounded by largest remainder (ties to the stratum declared first); shares of empty strata are spread
    over the others in proportion. Within a stratum, transitions are drawn uniformly with replacement.

    Strata are things like segment, device or new vs returning; never a protected attribute.

    Args:
        proportions: stratum → sampling share (positive; normalised to sum 1). Default: one stratum ``"all"``.
        capacity: total transitions kept.
        seed: seeds the sampling.

    Raises:
        PolicyConfigError: no strata, a non-positive share or capacity.

    >>> buffer = StratifiedReplayBuffer({"new": 0.25, "returning": 0.75}, capacity=100)
    >>> buffer.allocation(8)
    {'new': 0, 'returning': 0}
    >>> for i in range(30):
    ...     buffer.add(Transition(np.zeros(1, np.float32), np.zeros(1, np.float32), 0.0), "returning")
    ...     buffer.add(Transition(np.zeros(1, np.float32), np.zeros(1, np.float32), 1.0), "new")
    >>> buffer.allocation(8), len(buffer), buffer.capacities
    ({'new': 2, 'returning': 6}, 55, {'new': 25, 'returning': 75})
    """

    def __init__(
        self, proportions: Mapping[str, float] | None = None, *, capacity: int = DEFAULT_REPLAY_CAPACITY, seed: int = 0
    ) -> None:
        shares = dict(proportions) if proportions is not None else {DEFAULT_STRATUM: 1.0}
        if not shares or any(not share > 0 for share in shares.values()) or capacity < 1:
            raise PolicyConfigError(f"replay needs positive shares and capacity: {shares=} {capacity=}")
        total = sum(shares.values())
        self.proportions: dict[str, float] = {k: v / total for k, v in shares.items()}
        self.capacities: dict[str, int] = {k: max(1, int(capacity * p)) for k, p in self.proportions.items()}
        self._rings: dict[str, list[Transition]] = {k: [] for k in shares}
        self._next: dict[str, int] = dict.fromkeys(shares, 0)
        self._rng = np.random.default_rng(seed)
        self.added = 0

    def __len__(self) -> int:
        return sum(len(ring) for ring in self._rings.values())

    def counts(self) -> dict[str, int]:
        """Transitions held per stratum."""
        return {k: len(ring) for k, ring in self._rings.items()}

    def add(self, transition: Transition, stratum: str = DEFAULT_STRATUM) -> None:
        """Keep a transition in its stratum's ring (overwriting the stratum's oldest when full).

        Raises:
            UnknownStratumError: the stratum was not declared.
        """
        ring = self._rings.get(stratum)
        if ring is None:
            raise UnknownStratumError(f"undeclared replay stratum {stratum!r}; declared: {sorted(self._rings)}")
        if len(ring) < self.capacities[stratum]:
            ring.append(transition)
        else:
            ring[self._next[stratum]] = transition
            self._next[stratum] = (self._next[stratum] + 1) % self.capacities[stratum]
        self.added += 1

    def allocation(self, batch_size: int) -> dict[str, int]:
        """How many transitions each stratum contributes to a batch of ``batch_size`` (0 for empty strata)."""
        live = {k: p for k, p in self.proportions.items() if self._rings[k]}
        if not live or batch_size <= 0:
            return dict.fromkeys(self.proportions, 0)
        total = sum(live.values())
        quotas = {k: batch_size * p / total for k, p in live.items()}
        counts = {k: int(q) for k, q in quotas.items()}
        order = list(self.proportions)
        by_remainder = sorted(live, key=lambda k: (-(quotas[k] - counts[k]), order.index(k)))
        for k in by_remainder[: batch_size - sum(counts.values())]:
            counts[k] += 1
        return {k: counts.get(k, 0) for k in self.proportions}

    def sample(self, batch_size: int) -> list[tuple[str, Transition]]:
        """A batch of ``(stratum, transition)`` pairs, grouped by stratum in declaration order (empty when empty)."""
        batch: list[tuple[str, Transition]] = []
        for stratum, n in self.allocation(batch_size).items():
            ring = self._rings[stratum]
            batch.extend((stratum, ring[int(i)]) for i in self._rng.integers(0, len(ring), size=n))
        return batch
