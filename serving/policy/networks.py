"""The pair scorer shared by the neural policies: an MLP over (state, candidate) pairs, masked, scriptable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from serving.policy.base import MASKED_SCORE, check_batch
from serving.policy.errors import PolicyConfigError

__all__ = ["PairScorer", "build_scorer", "score_numpy", "seeded"]


class PairScorer(nn.Module):
    """``score(s, a) = MLP([s ; a])`` for every candidate of every decision of a batch.

    ``forward(state[B, S], candidates[B, K, A], mask[B, K] bool) -> scores[B, K]``, masked entries
    :data:`~serving.policy.base.MASKED_SCORE`. Plain torch only, so ``torch.jit.script`` compiles it and the
    scripted module loads without Kairos installed.

    Args:
        state_dim: S.
        action_dim: A.
        hidden: widths of the hidden ReLU layers.
    """

    def __init__(self, state_dim: int, action_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        if state_dim < 1 or action_dim < 1 or any(h < 1 for h in hidden):
            raise PolicyConfigError(f"bad scorer shape: {state_dim=} {action_dim=} {hidden=}")
        layers: list[nn.Module] = []
        width = state_dim + action_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        self.state_dim = state_dim
        self.action_dim = action_dim
        self.masked_score = MASKED_SCORE

    def pair(self, x: torch.Tensor) -> torch.Tensor:
        """Scores of concatenated pairs ``x[..., S + A]`` → ``[...]`` (no mask)."""
        out: torch.Tensor = self.net(x)
        return out.squeeze(-1)

    def pairs(self, state: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Unmasked scores ``[B, K]`` of ``candidates[B, K, A]`` in ``state[B, S]``."""
        b, k = candidates.shape[0], candidates.shape[1]
        s = state.unsqueeze(1).expand(b, k, state.shape[1])
        return self.pair(torch.cat([s, candidates], dim=2))

    def forward(self, state: torch.Tensor, candidates: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked scores ``[B, K]``."""
        return self.pairs(state, candidates).masked_fill(~mask, self.masked_score)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, then restore it (weights depend on the seed, not the process)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_scorer(state_dim: int, action_dim: int, hidden: tuple[int, ...], seed: int) -> PairScorer:
    """A :class:`PairScorer` whose initial weights depend only on its shape and ``seed``."""
    with seeded(seed):
        return PairScorer(state_dim, action_dim, hidden)


def score_numpy(
    scorer: PairScorer, state: npt.ArrayLike, candidates: npt.ArrayLike, mask: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """``scorer.forward`` on numpy inputs, without autograd, as ``float64`` scores ``[N, K]``.

    Raises:
        PolicyInputError: the shapes do not fit the scorer.
    """
    s, c, m = check_batch(
        np.asarray(state), np.asarray(candidates), np.asarray(mask), scorer.state_dim, scorer.action_dim
    )
    with torch.inference_mode():
        out = scorer(torch.from_numpy(s), torch.from_numpy(c), torch.from_numpy(m))
    return np.asarray(out.numpy(), dtype=np.float64)
