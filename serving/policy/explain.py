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

__all__ = ["explain", "explain_many", "gradient_x_input", "gradient_x_input_many"]


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


def gradient_x_input_many(
    scorer: PairScorer, states: npt.ArrayLike, candidates: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`gradient_x_input` for N (state, action) pairs at once: one forward and one backward pass (in numpy
    for the plain ReLU MLPs the policies use).

    Each pair's score depends on its own row only, so the gradient of the summed scores with respect to row ``i`` is
    the gradient of score ``i``: row ``i`` of the result equals ``gradient_x_input(scorer, states[i],
    candidates[i])`` up to float rounding (batched matrix products may sum in another order).

    Args:
        scorer: the policy's scorer.
        states: ``[N, S]``.
        candidates: ``[N, A]``, the action each state is explained for.

    Returns:
        ``(contributions[N, S], scores[N])``.

    Raises:
        PolicyInputError: the arrays do not fit the scorer or each other.
    """
    s = np.asarray(states, dtype=np.float32)
    a = np.asarray(candidates, dtype=np.float32)
    if s.ndim != 2 or a.ndim != 2 or s.shape[1] != scorer.state_dim or a.shape != (s.shape[0], scorer.action_dim):
        raise PolicyInputError(f"need states[N, {scorer.state_dim}] and candidates[N, {scorer.action_dim}]")
    layers = _relu_mlp(scorer)
    if layers is None:  # not a plain ReLU MLP: let autograd do it
        st = torch.tensor(s, requires_grad=True)
        scores = scorer.pair(torch.cat([st, torch.from_numpy(a)], dim=1))
        (grad,) = torch.autograd.grad(scores.sum(), st)
        return (grad * st).detach().numpy().astype(np.float64), scores.detach().numpy().astype(np.float64)
    # The same forward and backward pass in numpy: no autograd graph, no torch dispatch, and the GIL is not released
    # and re-taken per op (in a worker with several busy threads that costs far more than the arithmetic). Products
    # go through einsum, not BLAS: a row's result must not depend on how many rows share its batch (BLAS blocks by
    # matrix size, so the rounding would), or a replay with other batch boundaries would explain differently.
    h = np.concatenate([s, a], axis=1).astype(np.float64)
    active = []
    for weight, bias in layers[:-1]:
        z = np.einsum("nk,jk->nj", h, weight) + bias
        on = z > 0
        active.append(on)
        h = np.where(on, z, 0.0)
    weight, bias = layers[-1]
    scores_np = np.einsum("nk,jk->nj", h, weight)[:, 0] + bias[0]
    g = np.broadcast_to(weight, (h.shape[0], weight.shape[1]))
    for (weight, _), on in zip(reversed(layers[:-1]), reversed(active), strict=True):
        g = np.einsum("nj,jk->nk", g * on, weight)
    return g[:, : scorer.state_dim] * s.astype(np.float64), scores_np


def _relu_mlp(scorer: PairScorer) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] | None:
    """The scorer's ``(weight, bias)`` per layer when its network is Linear, ReLU, ..., Linear; else ``None``."""
    modules = list(scorer.net)
    linear = [m for m in modules[0::2] if isinstance(m, torch.nn.Linear)]
    relus = [m for m in modules[1::2] if isinstance(m, torch.nn.ReLU)]
    if len(modules) % 2 != 1 or len(linear) != len(modules[0::2]) or len(relus) != len(modules[1::2]):
        return None
    return [(_array(m.weight), _array(m.bias)) for m in linear]


def _array(parameter: torch.Tensor) -> npt.NDArray[np.float64]:
    return np.asarray(parameter.detach().numpy(), dtype=np.float64)


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


def explain_many(
    policy: object,
    states: npt.ArrayLike,
    candidates: npt.ArrayLike,
    state_names: Sequence[str],
    *,
    top_k: int = 5,
) -> list[list[FeatureContribution]]:
    """:func:`explain` for N decisions at once (one forward and backward pass for a neural policy).

    Returns, per row, what ``explain(policy, states[i], candidates[i], state_names, top_k=top_k)`` returns, the
    contributions equal up to float rounding (see :func:`gradient_x_input_many`).

    Args:
        policy: the policy that decided.
        states: the decisions' state vectors ``[N, S]``.
        candidates: each decision's chosen action vector ``[N, A]``.
        state_names: the encoder's ``state_names``.
        top_k: most contributions per decision.

    Returns:
        One list of :class:`~schemas.decisions.FeatureContribution` per decision.

    Raises:
        PolicyInputError: ``state_names`` does not match the states' width, or the arrays do not fit.
    """
    values = np.asarray(states, dtype=np.float32)
    if values.ndim != 2:
        raise PolicyInputError(f"need states[N, S], got shape {values.shape}")
    n = values.shape[0]
    if isinstance(policy, RulePolicy):
        return policy.explain_many(values)
    scorer = getattr(policy, "scorer", None)
    if not isinstance(scorer, PairScorer):
        return [[] for _ in range(n)]
    if len(state_names) != values.shape[1]:
        raise PolicyInputError(f"{len(state_names)} names for a state of width {values.shape[1]}")
    if n == 0:
        return []
    contributions, _ = gradient_x_input_many(scorer, values, candidates)
    # Largest |contribution| first, ties by name (as explain sorts); zero contributions are left out.
    by_name = np.empty(len(state_names), dtype=np.int64)
    by_name[sorted(range(len(state_names)), key=state_names.__getitem__)] = np.arange(len(state_names))
    k = min(top_k, values.shape[1])
    order = np.lexsort((np.broadcast_to(by_name, contributions.shape), -np.abs(contributions)), axis=-1)[:, :k]
    top = np.take_along_axis(contributions, order, axis=1).tolist()
    top_values = np.take_along_axis(values, order, axis=1).astype(np.float64).tolist()
    out: list[list[FeatureContribution]] = []
    for row_order, row_top, row_values in zip(order.tolist(), top, top_values, strict=True):
        out.append(
            [
                FeatureContribution(name=state_names[i], value=v, contribution=c)
                for i, c, v in zip(row_order, row_top, row_values, strict=True)
                if c != 0.0
            ]
        )
    return out
