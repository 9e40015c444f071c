"""The arms of the simulator evaluation: policy factories from no intervention to the full learning policy.

Every arm builds a fresh :class:`~serving.policy.Policy` from the state layout and a seed, so each (arm, seed) run
starts from the same place; the loop (:func:`~kairos.evaluation.loop.run_loop`) feeds it settled composite rewards
and only the learning arms use them.

=================== ===========================================================================================
arm                 policy
=================== ===========================================================================================
``none``            always ``none`` (propensity 1): the shop without interventions
``rules``           :class:`~serving.policy.RulePolicy`: exit intent → 10% discount (else a checkout nudge),
                    checkout started → nudge, product view → frequently-bought-together upsell (else cross-sell),
                    chat → concierge; no learning
``cf``              greedy on the collaborative-filtering acceptance × the candidate's value (:class:`CFPolicy`);
                    no learning
``bandit``          a *linear* SquareCB bandit on the state and action vectors with the River model scores and the
                    CF acceptance blanked (:class:`InputMask`): a textbook contextual bandit on raw features,
                    learning online from the same delayed composite rewards with the same optimiser and gamma
``linear``          a linear contextual bandit on the state × action interactions (:class:`Interactions` over
                    ``NeuralBandit(hidden=())``: ``a·W·s + v·a``), SquareCB, same optimiser and gamma, full state
``neural``          :class:`~serving.policy.NeuralBandit` (MLP, SquareCB) on the full state (River scores, segments,
                    CF acceptance), learning online from delayed composite rewards from scratch (the ``full`` arm
                    until issue 10)
``full``            the production policy: :class:`~serving.policy.SafePolicy` over the rules, warm-started from
                    the logs of ε-greedy rules on *other* populations (:mod:`kairos.evaluation.history`), learning
                    online from its own logs (ε 0.02 over arms)
=================== ===========================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from schemas.decisions import InterventionType
from serving.policy import (
    MASKED_SCORE,
    Feedback,
    GreedyPolicy,
    NeuralBandit,
    Policy,
    RulePolicy,
    SafePolicy,
    StateEncoder,
    check_batch,
)

__all__ = [
    "ARMS",
    "ARM_NAMES",
    "MODEL_ACTION_INPUTS",
    "MODEL_STATE_INPUTS",
    "Arm",
    "CFPolicy",
    "InputMask",
    "Interactions",
    "NoInterventionPolicy",
    "arm",
]

F32 = npt.NDArray[np.float32]

F64 = npt.NDArray[np.float64]

MODEL_STATE_INPUTS = ("abandonment_risk", "purchase_propensity", "segment=")
"""State inputs that come from the River models (names, or a prefix ending in ``=`` for a one-hot)."""

MODEL_ACTION_INPUTS = ("cf_acceptance", "has_cf_acceptance")
"""Action inputs that come from the collaborative-filtering model."""


class NoInterventionPolicy(GreedyPolicy):
    """Always ``none`` (never masked), propensity 1, no learning: the control arm.

    Args:
        encoder: the layout the candidate vectors follow.
        name: the policy name logged on decisions.
    """

    def __init__(self, encoder: StateEncoder, *, name: str = "none") -> None:
        self.name = name
        self.state_dim, self.action_dim = encoder.state_dim, encoder.action_dim
        self._none = encoder.action_index(f"type={InterventionType.NONE.value}")

    @property
    def version(self) -> str:
        """``none-v1``."""
        return "none-v1"

    def scores(self, state: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> F64:
        """1 on ``none``, 0 elsewhere, ``MASKED_SCORE`` on masked candidates."""
        _, c, m = check_batch(state, candidates, mask, self.state_dim, self.action_dim)
        return np.where(m, np.where(c[:, :, self._none] > 0.5, 1.0, 0.0), MASKED_SCORE)


class CFPolicy(GreedyPolicy):
    """Greedy on ``CF acceptance × value`` (lowest index on ties, so ``none`` when nothing is worth anything), no
    learning: what collaborative filtering alone would recommend.

    Value of a candidate, in EUR, from the vectors alone: a product offer is worth its price; a discount is worth
    the cart it would close at its reduced price (``cart_value × (1 - pct)``); a checkout nudge is worth the cart;
    concierge and email capture carry no monetary value (0), and ``none`` scores 0. A candidate without a CF
    acceptance counts as acceptance 0. So the arm intervenes whenever some offer has a positive expected value,
    which is the point of the comparison: acceptance is not the same as value added.

    Args:
        encoder: the layout the vectors follow.
        name: the policy name logged on decisions.
    """

    def __init__(self, encoder: StateEncoder, *, name: str = "cf") -> None:
        self.name = name
        self.state_dim, self.action_dim = encoder.state_dim, encoder.action_dim
        si, ai = encoder.state_index, encoder.action_index
        self._cart = si("cart_value")
        self._accept, self._price, self._pct = ai("cf_acceptance"), ai("price"), ai("discount_pct")
        self._has_product = ai("has_product")
        self._discount = ai(f"type={InterventionType.DISCOUNT.value}")
        self._nudge = ai(f"type={InterventionType.CHECKOUT_NUDGE.value}")

    @property
    def version(self) -> str:
        """``cf-v1``."""
        return "cf-v1"

    def scores(self, state: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> F64:
        """``acceptance × value`` per candidate (see the class docstring); masked ``MASKED_SCORE``."""
        s, c, m = check_batch(state, candidates, mask, self.state_dim, self.action_dim)
        cart = np.expm1(np.maximum(s[:, self._cart].astype(np.float64), 0.0))[:, None]
        price = np.expm1(np.maximum(c[:, :, self._price].astype(np.float64), 0.0))
        value = np.where(c[:, :, self._has_product] > 0.5, price, 0.0)
        value = np.where(c[:, :, self._discount] > 0.5, cart * (1.0 - c[:, :, self._pct]), value)
        value = np.where(c[:, :, self._nudge] > 0.5, cart, value)
        return np.where(m, c[:, :, self._accept].astype(np.float64) * value, MASKED_SCORE)


class _SeenThrough:
    """A policy that scores and learns on transformed inputs (:meth:`transform`); choice and version are the inner
    policy's."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def version(self) -> str:
        """The inner policy's version."""
        return self.inner.version

    def transform(self, state: F32, candidates: F32) -> tuple[F32, F32]:
        """``(states [N, S'], candidates [N, K, A'])`` the inner policy sees for a batch."""
        raise NotImplementedError

    def scores(self, state: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> F64:
        """The inner scores of the transformed vectors."""
        return self.inner.scores(*self.transform(state, candidates), mask)

    def choose(self, scores: F64, mask: npt.NDArray[np.bool_], seed: int) -> tuple[int, F64]:
        """The inner choice."""
        return self.inner.choose(scores, mask, seed)

    def learn_one(self, feedback: Feedback) -> None:
        """The inner learner on the transformed vectors."""
        state, candidates = self.transform(feedback.state[None], feedback.candidates[None])
        self.inner.learn_one(replace(feedback, state=state[0], candidates=candidates[0]))


class InputMask(_SeenThrough):
    """A policy seen through blanked inputs: the named state and action dimensions read as 0, for scoring and
    learning alike (the rest is the inner policy's).

    Args:
        inner: the policy that scores, chooses and learns.
        state_keep: ``[S]`` 1 for inputs kept, 0 for blanked.
        action_keep: ``[A]`` likewise.
    """

    def __init__(self, inner: Policy, state_keep: F32, action_keep: F32) -> None:
        super().__init__(inner)
        self.state_keep = np.asarray(state_keep, dtype=np.float32)
        self.action_keep = np.asarray(action_keep, dtype=np.float32)

    @classmethod
    def without(
        cls, inner: Policy, encoder: StateEncoder, state: tuple[str, ...], action: tuple[str, ...]
    ) -> InputMask:
        """Blank the state inputs named (or prefixed, for names ending in ``=``) in ``state``, likewise ``action``."""
        return cls(inner, _keep(encoder.state_names, state), _keep(encoder.action_names, action))

    def transform(self, state: F32, candidates: F32) -> tuple[F32, F32]:
        """The vectors with the blanked inputs at 0 (new arrays: the caller's are not modified)."""
        return state * self.state_keep, candidates * self.action_keep


class Interactions(_SeenThrough):
    """A policy seen through state × action interactions: each candidate becomes ``[vec(s ⊗ a); a]`` and the state a
    constant, so a linear inner model (``NeuralBandit(hidden=())``) scores ``a·W·s + v·a + b`` — a linear contextual
    bandit whose ranking of the actions depends on the state (a linear model on ``[s; a]`` ranks every state's
    actions alike).

    Args:
        inner: the policy that scores, chooses and learns (state dim 1, action dim ``S·A + A``).
    """

    @staticmethod
    def dims(state_dim: int, action_dim: int) -> tuple[int, int]:
        """The inner policy's ``(state_dim, action_dim)`` for an outer layout."""
        return 1, state_dim * action_dim + action_dim

    def transform(self, state: F32, candidates: F32) -> tuple[F32, F32]:
        """A constant state and the lifted candidates ``[vec(s ⊗ a); a]``."""
        s = np.asarray(state, dtype=np.float32).reshape(-1, state.shape[-1])
        c = np.asarray(candidates, dtype=np.float32).reshape(s.shape[0], -1, candidates.shape[-1])
        outer = np.einsum("ns,nka->nksa", s, c).reshape(c.shape[0], c.shape[1], -1)
        lifted = np.concatenate([outer, c], axis=-1).astype(np.float32)
        return np.ones((s.shape[0], 1), dtype=np.float32), lifted


def _keep(names: tuple[str, ...], blank: tuple[str, ...]) -> F32:
    def blanked(name: str) -> bool:
        return any(name.startswith(b) if b.endswith("=") else name == b for b in blank)

    return np.array([0.0 if blanked(n) else 1.0 for n in names], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its name, what it is, whether it learns, how to build its policy for a seed, and whether it starts
    from the history of other populations (``warm``)."""

    name: str
    description: str
    learns: bool
    build: Callable[[StateEncoder, int], Policy]
    warm: bool = False


def _bandit(encoder: StateEncoder, seed: int) -> Policy:
    # The learner's defaults (Adam, gamma 100), as the full arm: only the model and its inputs differ.
    linear = NeuralBandit(encoder.state_dim, encoder.action_dim, hidden=(), seed=seed, name="bandit")
    return InputMask.without(linear, encoder, MODEL_STATE_INPUTS, MODEL_ACTION_INPUTS)


def _linear(encoder: StateEncoder, seed: int) -> Policy:
    # The learner's defaults again; the model is linear in the state × action interactions (and the action).
    state_dim, action_dim = Interactions.dims(encoder.state_dim, encoder.action_dim)
    return Interactions(NeuralBandit(state_dim, action_dim, hidden=(), seed=seed, name="linear"))


def _neural(encoder: StateEncoder, seed: int) -> Policy:
    return NeuralBandit(encoder.state_dim, encoder.action_dim, seed=seed, name="neural")


def _full(encoder: StateEncoder, _seed: int) -> Policy:
    # Exploration 0.02 over arms: enough to keep learning online, little enough to cost little.
    return SafePolicy(RulePolicy(encoder), encoder, epsilon=0.02, name="full")


ARMS: tuple[Arm, ...] = (
    Arm("none", "no intervention", False, lambda e, _seed: NoInterventionPolicy(e)),
    Arm("rules", "exit-intent discount, FBT upsell, checkout nudge, concierge on chat", False,
        lambda e, _seed: RulePolicy(e)),
    Arm("cf", "greedy CF acceptance x value", False, lambda e, _seed: CFPolicy(e)),
    Arm("bandit", "linear SquareCB without model scores, delayed reward", True, _bandit),
    Arm("linear", "linear SquareCB on state x action interactions, delayed reward", True, _linear),
    Arm("neural", "NeuralBandit SquareCB, full state, from scratch", True, _neural),
    Arm("full", "safe improvement over the rules, warm-started from other populations' logs", True, _full, warm=True),
)  # fmt: skip
"""The arms, in report order."""

ARM_NAMES: tuple[str, ...] = tuple(a.name for a in ARMS)


def arm(name: str) -> Arm:
    """The arm called ``name``.

    Raises:
        KeyError: no such arm.

    >>> arm("rules").learns, arm("full").learns
    (False, True)
    """
    for a in ARMS:
        if a.name == name:
            return a
    raise KeyError(f"unknown arm {name!r}; known: {', '.join(ARM_NAMES)}")
