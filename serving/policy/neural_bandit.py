"""NeuralBandit, the default policy: an MLP regression of reward on (state, action), explored with SquareCB."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

from serving.policy.base import Feedback
from serving.policy.errors import PolicyConfigError, PolicyDivergedError, PolicyInputError
from serving.policy.exploration import draw, igw_propensities
from serving.policy.networks import build_scorer, score_numpy

__all__ = ["NeuralBandit"]


class NeuralBandit:
    """Contextual bandit: ``score(s, a)`` estimates the expected reward; SquareCB turns scores into propensities.

    Exploration is inverse gap weighting (:func:`~serving.policy.exploration.igw_propensities`) with
    ``gamma_t = gamma * (1 + updates) ** gamma_growth``: near uniform while the model knows little, greedier as it
    learns (the anytime form of SquareCB's ``gamma ∝ sqrt(K t)`` at the default growth 0.5). SquareCB rather than
    Thompson sampling because its propensities are a closed form of the scores, exact, cheap and computable from
    Triton's output alone; a Thompson propensity is the probability that an action's posterior draw wins, which has no
    closed form for a neural posterior and needs Monte Carlo (an estimate, not the probability that was used).

    Learning is online regression (squared loss, one optimiser step per observation), the oracle SquareCB assumes.
    The default optimiser is Adam: the composite reward is a sparse, noisy signal (most decisions earn nothing or a
    penalty) and plain SGD at a fixed step either crawls on the rare outcomes or, at a step large enough to learn
    them, lets single penalties swing the scores; Adam's per-weight normalised steps learned faster and more stably
    in the closed loop (docs/policy.md, measured). Adam runs fused (one kernel over every weight, ~200 µs per step on
    one thread, against ~170 µs for SGD and ~300 µs for the per-tensor Adam). By default the regression is
    unweighted: SquareCB's guarantee comes from regressing on the data it collected, and inverse propensity weights
    add variance. ``importance_weighting=True`` weights each step by ``min(1/propensity, max_weight)``, for learning
    from logs of another policy (e.g. the rules).

    ``gamma`` defaults to 100: the inverse gap weighting gives every allowed candidate at least ``1 / (n + gamma *
    gap)``, and a decision has ~25 allowed candidates, most of them product offers, with reward gaps of a few tenths;
    at gamma 10 that is close to uniform over the candidates (mostly over product offers) for thousands of
    decisions, which costs more reward than it teaches.

    Args:
        state_dim: S.
        action_dim: A.
        hidden: hidden layer widths of the scorer.
        learning_rate: the optimiser's step.
        optimizer: ``"adam"`` or ``"sgd"`` (plain SGD, e.g. for a linear model on small data).
        gamma: exploration strength at the first decision, in inverse reward units.
        gamma_growth: exponent of gamma's growth with the number of updates (0 keeps it fixed).
        importance_weighting: weight updates by the clipped inverse propensity.
        max_weight: the clip of those weights.
        seed: seeds the initial weights.
        name: the policy name logged on decisions.

    Raises:
        PolicyConfigError: a non-positive rate or weight clip, a negative gamma or growth, an unknown optimiser.
    """

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        *,
        hidden: tuple[int, ...] = (64, 64),
        learning_rate: float = 1e-3,
        optimizer: Literal["adam", "sgd"] = "adam",
        gamma: float = 100.0,
        gamma_growth: float = 0.5,
        importance_weighting: bool = False,
        max_weight: float = 20.0,
        seed: int = 0,
        name: str = "neural_bandit",
    ) -> None:
        if learning_rate <= 0 or gamma < 0 or gamma_growth < 0 or max_weight < 1 or optimizer not in ("adam", "sgd"):
            raise PolicyConfigError(f"bad bandit: {learning_rate=} {optimizer=} {gamma=} {gamma_growth=} {max_weight=}")
        self.name = name
        self.scorer = build_scorer(state_dim, action_dim, hidden, seed)
        params = self.scorer.parameters()
        self.optimizer: torch.optim.Optimizer = (
            torch.optim.Adam(params, lr=learning_rate, fused=True)
            if optimizer == "adam"
            else torch.optim.SGD(params, lr=learning_rate)
        )
        self.gamma = gamma
        self.gamma_growth = gamma_growth
        self.importance_weighting = importance_weighting
        self.max_weight = max_weight
        self.updates = 0

    @property
    def version(self) -> str:
        """``<name>-u<updates>``: the weights change with every update."""
        return f"{self.name}-u{self.updates}"

    @property
    def exploration_gamma(self) -> float:
        """The SquareCB gamma of the next choice."""
        return float(self.gamma * (1.0 + self.updates) ** self.gamma_growth)

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Expected rewards ``[N, K]``; masked entries are ``MASKED_SCORE``."""
        return score_numpy(self.scorer, state, candidates, mask)

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """SquareCB: inverse-gap-weighted propensities at :attr:`exploration_gamma`, one seeded draw."""
        propensities = igw_propensities(scores, mask, self.exploration_gamma)
        return draw(propensities, seed), propensities

    def learn_many(self, feedbacks: Sequence[Feedback]) -> float:
        """One optimiser step on the squared errors of the chosen actions' scores over a mini-batch of decisions.

        Args:
            feedbacks: the decisions (state ``[S]``, the chosen candidate of ``candidates[K, A]``, the attributed
                reward, the logged propensity, used with ``importance_weighting``).

        Returns:
            The mean (weighted) loss before the step.

        Raises:
            PolicyInputError: no decision, wrong shapes, a non-finite reward, a propensity outside (0, 1].
            PolicyDivergedError: the loss is not finite; nothing is learned.
        """
        scorer, b = self.scorer, len(feedbacks)
        try:
            s = np.stack([np.asarray(f.state, dtype=np.float32).reshape(-1) for f in feedbacks])
            c = np.stack([np.asarray(f.candidates[f.chosen], dtype=np.float32).reshape(-1) for f in feedbacks])
        except (ValueError, IndexError) as exc:  # no decision, ragged states, a chosen index out of range
            raise PolicyInputError(f"learn_many needs decisions with states [S] and a chosen candidate: {exc}") from exc
        r = np.array([f.reward for f in feedbacks], dtype=np.float32)
        p = np.array([f.propensity for f in feedbacks], dtype=np.float64)
        if s.shape != (b, scorer.state_dim) or c.shape != (b, scorer.action_dim):
            raise PolicyInputError(
                f"learn_many needs states [S={scorer.state_dim}], candidates [K, A={scorer.action_dim}]"
            )
        if not np.isfinite(r).all() or not ((p > 0) & (p <= 1)).all():
            raise PolicyInputError("rewards must be finite and propensities in (0, 1]")
        weights = np.minimum(1.0 / p, self.max_weight) if self.importance_weighting else np.ones(b)
        x = torch.from_numpy(np.concatenate([s, c], axis=1))
        predicted = scorer.pair(x)
        errors = (predicted - torch.from_numpy(r)) ** 2
        loss = (errors * torch.from_numpy(weights.astype(np.float32))).mean()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise PolicyDivergedError(f"{self.name}: non-finite loss, weights unchanged (lower the learning rate)")
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        self.updates += 1
        return value

    def learn_one(self, feedback: Feedback) -> None:
        """:meth:`learn_many` on one decision."""
        self.learn_many((feedback,))
