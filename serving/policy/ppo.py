"""PPO-style policy: softmax over pair-scorer logits, a state-value critic, clipped-objective updates on batches."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from serving.policy.base import MASKED_SCORE, Feedback
from serving.policy.errors import PolicyConfigError, PolicyDivergedError
from serving.policy.exploration import draw, softmax_propensities
from serving.policy.networks import build_scorer, score_numpy, seeded

__all__ = ["PPOPolicy"]


class PPOPolicy:
    """A softmax policy over the candidates, learned with PPO's clipped surrogate objective.

    ``scores`` are logits; ``choose`` samples from ``softmax(logits / temperature)`` over the allowed candidates, so
    propensities are exact. Feedback is buffered; every ``batch_size`` decisions the batch is learned for ``epochs``
    passes: ``ratio = pi(a|s) / propensity`` (the logged propensity is pi_old), advantage ``r - V(s)`` (one-step: the
    reward stage already credits each decision with its delayed outcome; no GAE), loss
    ``-min(ratio A, clip(ratio, 1 - clip, 1 + clip) A) + value_coef (V - r)^2 - entropy_coef H``, Adam steps.
    PPO is on-policy: feed it decisions of this policy (or of versions close to it), after their rewards matured.

    Args:
        state_dim: S.
        action_dim: A.
        hidden: hidden widths of the actor (pair scorer) and the critic.
        learning_rate: Adam step.
        clip: the ratio clip epsilon.
        epochs: passes over each batch.
        batch_size: decisions per update.
        value_coef: weight of the critic's squared error.
        entropy_coef: weight of the entropy bonus.
        temperature: softmax temperature.
        normalize_advantages: standardise advantages within a batch.
        seed: seeds the initial weights.
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
        learning_rate: float = 3e-3,
        clip: float = 0.2,
        epochs: int = 4,
        batch_size: int = 64,
        value_coef: float = 0.5,
        entropy_coef: float = 0.01,
        temperature: float = 1.0,
        normalize_advantages: bool = True,
        seed: int = 0,
        name: str = "ppo",
    ) -> None:
        if learning_rate <= 0 or not 0 < clip < 1 or epochs < 1 or batch_size < 1 or temperature <= 0:
            raise PolicyConfigError(f"bad PPO: {learning_rate=} {clip=} {epochs=} {batch_size=} {temperature=}")
        self.name = name
        self.scorer = build_scorer(state_dim, action_dim, hidden, seed)
        with seeded(seed + 1):
            width = hidden[0] if hidden else 32
            self.critic = nn.Sequential(nn.Linear(state_dim, width), nn.ReLU(), nn.Linear(width, 1))
        params = [*self.scorer.parameters(), *self.critic.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=learning_rate)
        self.clip = clip
        self.epochs = epochs
        self.batch_size = batch_size
        self.value_coef = value_coef
        self.entropy_coef = entropy_coef
        self.temperature = temperature
        self.normalize_advantages = normalize_advantages
        self.pending: list[Feedback] = []
        self.updates = 0

    @property
    def version(self) -> str:
        """``<name>-u<batch updates>``."""
        return f"{self.name}-u{self.updates}"

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Logits ``[N, K]``; masked entries are ``MASKED_SCORE``."""
        return score_numpy(self.scorer, state, candidates, mask)

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """Sample from the softmax of ``scores / temperature`` over the allowed candidates."""
        propensities = softmax_propensities(scores, mask, self.temperature)
        return draw(propensities, seed), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """Buffer one decision; learn the batch when it is full."""
        self.pending.append(feedback)
        if len(self.pending) >= self.batch_size:
            batch, self.pending = self.pending, []
            self.learn_many(batch)

    def learn_many(self, batch: Sequence[Feedback]) -> float:
        """PPO epochs over one batch of decisions now (candidate counts may differ; shorter ones are padded).

        Returns:
            The last epoch's loss.

        Raises:
            PolicyDivergedError: a non-finite loss; the remaining epochs are skipped.
        """
        if not batch:
            return 0.0
        k = max(f.candidates.shape[0] for f in batch)
        cands = np.zeros((len(batch), k, batch[0].candidates.shape[1]), dtype=np.float32)
        masks = np.zeros((len(batch), k), dtype=np.bool_)
        for i, f in enumerate(batch):
            cands[i, : f.candidates.shape[0]] = f.candidates
            masks[i, : f.mask.shape[0]] = f.mask
            masks[i, f.chosen] = True  # the logged action was allowed when it was taken
        states = torch.from_numpy(np.stack([f.state for f in batch]).astype(np.float32))
        c, m = torch.from_numpy(cands), torch.from_numpy(masks)
        chosen = torch.tensor([f.chosen for f in batch], dtype=torch.long)
        rewards = torch.tensor([f.reward for f in batch], dtype=torch.float32)
        old_logp = torch.log(torch.tensor([f.propensity for f in batch], dtype=torch.float32))
        with torch.no_grad():
            advantages = rewards - self.critic(states).squeeze(-1)
            if self.normalize_advantages and len(batch) > 1:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        value = 0.0
        for _ in range(self.epochs):
            logits = (self.scorer.pairs(states, c) / self.temperature).masked_fill(~m, MASKED_SCORE)
            logp = torch.log_softmax(logits, dim=1)
            ratio = torch.exp(logp.gather(1, chosen[:, None]).squeeze(1) - old_logp)
            clipped = torch.clamp(ratio, 1.0 - self.clip, 1.0 + self.clip)
            policy_loss = -torch.minimum(ratio * advantages, clipped * advantages).mean()
            value_loss = ((self.critic(states).squeeze(-1) - rewards) ** 2).mean()
            entropy = -(logp.exp() * logp).sum(dim=1).mean()
            loss: torch.Tensor = policy_loss + self.value_coef * value_loss - self.entropy_coef * entropy
            value = float(loss.detach())
            if not math.isfinite(value):
                raise PolicyDivergedError(f"{self.name}: non-finite loss, update stopped")
            self.optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
        self.updates += 1
        return value
