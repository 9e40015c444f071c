"""DQN-style policy: a Q-network over (state, action) pairs, a target network, stratified experience replay."""

from __future__ import annotations

import copy
import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from serving.policy.base import Feedback
from serving.policy.errors import PolicyConfigError, PolicyDivergedError
from serving.policy.exploration import draw, epsilon_greedy_propensities, softmax_propensities
from serving.policy.networks import build_scorer, score_numpy
from serving.policy.replay import StratifiedReplayBuffer, Transition

__all__ = ["DEFAULT_TARGET_SYNC", "DQNPolicy", "Exploration"]

DEFAULT_TARGET_SYNC: Final = 1_000
"""Gradient steps between target-network syncs (004)."""

Exploration = Literal["epsilon", "boltzmann"]


def _pad_stack(
    arrays: list[npt.NDArray[np.float32]], masks: list[npt.NDArray[np.bool_]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``[K_i, A]`` arrays into ``[B, max K, A]`` with padded rows masked out."""
    k = max(a.shape[0] for a in arrays)
    out = np.zeros((len(arrays), k, arrays[0].shape[1]), dtype=np.float32)
    valid = np.zeros((len(arrays), k), dtype=np.bool_)
    for i, (a, m) in enumerate(zip(arrays, masks, strict=True)):
        out[i, : a.shape[0]] = a
        valid[i, : a.shape[0]] = m
    return torch.from_numpy(out), torch.from_numpy(valid)


class DQNPolicy:
    """Q-learning with function approximation: ``Q(s, a)`` by a pair scorer, targets from a lagged copy.

    ``learn_one`` stores the decision as a :class:`~serving.policy.replay.Transition` in its stratum and, once the
    buffer holds ``min_replay`` transitions, takes one gradient step on a stratified batch: Huber loss of
    ``Q(s, a)`` against ``r + discount * max_{a' allowed} Q_target(s', a')`` (``r`` alone at the end of an episode,
    i.e. ``next_state is None``). Every ``target_sync`` steps the target network is overwritten by the online one.

    Exploration, with exact propensities: ``"epsilon"`` (epsilon spread over the allowed candidates, the rest on the
    greedy one) or ``"boltzmann"`` (softmax of ``Q / temperature`` over the allowed candidates).

    Args:
        state_dim: S.
        action_dim: A.
        hidden: hidden layer widths of the Q-network.
        learning_rate: Adam step.
        discount: the MDP's gamma (within a session; 0 makes it a bandit).
        exploration: ``"epsilon"`` or ``"boltzmann"``.
        epsilon: exploration share of ``"epsilon"``.
        temperature: softmax temperature of ``"boltzmann"`` (in reward units).
        batch_size: transitions per gradient step.
        target_sync: gradient steps between target syncs.
        buffer: the replay buffer (default: one stratum, capacity 50,000).
        min_replay: transitions needed before learning starts (default ``batch_size``).
        seed: seeds the weights and the buffer's sampling.
        name: the policy name logged on decisions.

    Raises:
        PolicyConfigError: a parameter out of range.
    """

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        *,
        hidden: tuple[int, ...] = (64, 64),
        learning_rate: float = 1e-3,
        discount: float = 0.9,
        exploration: Exploration = "epsilon",
        epsilon: float = 0.1,
        temperature: float = 0.1,
        batch_size: int = 32,
        target_sync: int = DEFAULT_TARGET_SYNC,
        buffer: StratifiedReplayBuffer | None = None,
        min_replay: int | None = None,
        seed: int = 0,
        name: str = "dqn",
    ) -> None:
        if exploration not in ("epsilon", "boltzmann") or not 0 <= epsilon <= 1 or temperature <= 0:
            raise PolicyConfigError(f"bad exploration: {exploration=} {epsilon=} {temperature=}")
        if learning_rate <= 0 or not 0 <= discount < 1 or batch_size < 1 or target_sync < 1:
            raise PolicyConfigError(f"bad DQN: {learning_rate=} {discount=} {batch_size=} {target_sync=}")
        self.name = name
        self.scorer = build_scorer(state_dim, action_dim, hidden, seed)
        self.target = copy.deepcopy(self.scorer).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.scorer.parameters(), lr=learning_rate)
        self.discount = discount
        self.exploration: Exploration = exploration
        self.epsilon = epsilon
        self.temperature = temperature
        self.batch_size = batch_size
        self.target_sync = target_sync
        self.buffer = buffer if buffer is not None else StratifiedReplayBuffer(seed=seed)
        self.min_replay = batch_size if min_replay is None else max(1, min_replay)
        self.steps = 0
        self.target_syncs = 0

    @property
    def version(self) -> str:
        """``<name>-s<gradient steps>``."""
        return f"{self.name}-s{self.steps}"

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Q-values ``[N, K]`` of the online network; masked entries are ``MASKED_SCORE``."""
        return score_numpy(self.scorer, state, candidates, mask)

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """Epsilon-greedy or Boltzmann propensities, one seeded draw."""
        if self.exploration == "epsilon":
            propensities = epsilon_greedy_propensities(scores, mask, self.epsilon)
        else:
            propensities = softmax_propensities(scores, mask, self.temperature)
        return draw(propensities, seed), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """Store the decision in its stratum; take one gradient step once the buffer holds ``min_replay``.

        Raises:
            UnknownStratumError: the feedback's stratum is not one of the buffer's.
        """
        self.buffer.add(Transition.from_feedback(feedback), feedback.stratum)
        if len(self.buffer) >= self.min_replay:
            self.train_step()

    def train_step(self) -> float:
        """One gradient step on a stratified batch; syncs the target every ``target_sync`` steps.

        Returns:
            The Huber loss before the step (0.0 and no step when the buffer is empty).

        Raises:
            PolicyDivergedError: the loss is not finite; the step is skipped.
        """
        batch = [t for _, t in self.buffer.sample(self.batch_size)]
        if not batch:
            return 0.0
        states = torch.from_numpy(np.stack([t.state for t in batch]).astype(np.float32))
        actions = torch.from_numpy(np.stack([t.action for t in batch]).astype(np.float32))
        targets = torch.tensor([t.reward for t in batch], dtype=torch.float32)
        nonterminal = [
            i for i, t in enumerate(batch) if t.next_mask is not None and bool(np.asarray(t.next_mask).any())
        ]
        if nonterminal and self.discount > 0:
            rows = [batch[i] for i in nonterminal]
            next_states = torch.from_numpy(np.stack([np.asarray(t.next_state) for t in rows]).astype(np.float32))
            next_c, next_m = _pad_stack(
                [np.asarray(t.next_candidates, dtype=np.float32) for t in rows],
                [np.asarray(t.next_mask, dtype=np.bool_) for t in rows],
            )
            with torch.no_grad():
                best_next = self.target(next_states, next_c, next_m).max(dim=1).values
            targets[nonterminal] += self.discount * best_next
        predicted = self.scorer.pair(torch.cat([states, actions], dim=1))
        loss = functional.smooth_l1_loss(predicted, targets)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise PolicyDivergedError(f"{self.name}: non-finite loss, step skipped")
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        self.steps += 1
        if self.steps % self.target_sync == 0:
            self.sync_target()
        return value

    def sync_target(self) -> None:
        """Copy the online weights into the target network."""
        self.target.load_state_dict(self.scorer.state_dict())
        self.target_syncs += 1
