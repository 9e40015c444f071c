"""Per-decision explanations: gradient × input of the chosen action's score over the named state dimensions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch

from schemas.decisions import FeatureContribution
from serving.policy.errors import PolicyInputError
from serving.policy.networks import PairScorer
from serving.policy.rules import RulePolicy

__all__ = ["explain", "gradient_x_input"]


def gradient_x_input(
    scorer: PairScorer, state: npt.ArrayLike, candidate: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], float]:
    """``d score / d state * state`` for one (state, action) pair, and the score.

    Gradient × input is a first-order attribution against an all-zero baseline (a zero state dimension contributes
    nothing); for a ReLU network it is exact for the linear piece the input lies on. The scorer's ``.grad`` fields are
    not touched.

    Raises:
        PolicyInputError: the vectors do not fit the scorer.
    """
    s = torch.tensor(np.asarray(state, dtype=np.float32), requires_grad=True)
    a = torch.tensor(np.asarray(candidate, dtype=np.float32))
    if s.shape != (scorer.state_dim,) or a.shape != (scorer.action_dim,):
        raise PolicyInputError(f"need state[{scorer.state_dim}] and candidate[{scorer.action_dim}]")
    score = scorer.pair(torch.cat([s, a]))
    (grad,) = torch.autograd.grad(score, s)
    return (grad * s).detach().numpy().astype(np.float64), float(score.detach())


def explain(
    policy: object,
    state: npt.ArrayLike,
    candidate: npt.ArrayLike,
    state_names: Sequence[str],
    *,
    top_k: int = 5,
) -> list[FeatureContribution]:
    """The top-``top_k`` state dimensions behind the chosen action's score, largest absolute contribution first.

    Neural policies (anything with a ``scorer``): gradient × input (:func:`gradient_x_input`), zero contributions
    left out, ties by name. The rule policy: the rule that decided (``rule=<name>``). Anything else: ``[]``.

    Args:
        policy: the policy that decided.
        state: the decision's state vector ``[S]``.
        candidate: the chosen action's vector ``[A]``.
        state_names: the encoder's ``state_names``.
        top_k: most contributions returned.

    Returns:
        :class:`~schemas.decisions.FeatureContribution` records for the decision's ``explanation``.

    Raises:
        PolicyInputError: ``state_names`` does not match the state's width.
    """
    if isinstance(policy, RulePolicy):
        return policy.explain(np.asarray(state, dtype=np.float32))
    scorer = getattr(policy, "scorer", None)
    if not isinstance(scorer, PairScorer):
        return []
    values = np.asarray(state, dtype=np.float64)
    if len(state_names) != values.shape[0]:
        raise PolicyInputError(f"{len(state_names)} names for a state of width {values.shape[0]}")
    contributions, _ = gradient_x_input(scorer, values, candidate)
    ranked = sorted(
        (i for i in range(values.shape[0]) if contributions[i] != 0.0),
        key=lambda i: (-abs(contributions[i]), state_names[i]),
    )
    return [
        FeatureContribution(name=state_names[i], value=float(values[i]), contribution=float(contributions[i]))
        for i in ranked[:top_k]
    ]
