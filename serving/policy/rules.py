"""The rule policy: the baseline arm and the fallback when Triton is down, read off the same encoded vectors."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from schemas.decisions import FeatureContribution, InterventionType
from serving.policy.base import MASKED_SCORE, GreedyPolicy, check_batch
from serving.policy.state import StateEncoder

__all__ = ["RULES_VERSION", "RulePolicy"]

RULES_VERSION = "rules-v1"
"""Logged as the policy version of rule decisions; bump it when a rule changes."""


class RulePolicy(GreedyPolicy):
    """Deterministic rules over the state and candidate vectors, first match wins.

    1. ``exit_intent`` (trigger, or the session flag): a discount at ``discount_pct`` if allowed, else a checkout
       nudge, else nothing.
    2. Non-empty cart and checkout started: a checkout nudge.
    3. ``product_view`` trigger: a frequently-bought-together offer (a co-purchase neighbour of the viewed
       product): an upsell first, else a cross-sell of such a product; the generator's order breaks ties.
    4. ``chat_message`` trigger: a concierge message.
    5. Otherwise nothing.

    Scores express the preference (rule pick 3, its fallback 2, ``none`` 0, everything else -1; masked
    ``MASKED_SCORE``); :meth:`choose` takes the best allowed candidate with propensity 1. ``none`` is always allowed,
    so a masked rule pick falls through to its fallback or to ``none``. Needs no torch: it runs when nothing else can.

    Args:
        encoder: the encoder whose layout the vectors follow (its names locate the inputs).
        discount_pct: the rule's discount level.
        name: the policy name logged on decisions.
    """

    def __init__(self, encoder: StateEncoder, *, discount_pct: float = 10.0, name: str = "rules") -> None:
        self.name = name
        self.discount_pct = discount_pct
        self.state_dim, self.action_dim = encoder.state_dim, encoder.action_dim
        si, ai = encoder.state_index, encoder.action_index
        self._exit_trigger, self._exit_flag = si("trigger=exit_intent"), si("exit_intent")
        self._cart, self._checkout = si("cart_size"), si("checkout_started")
        self._product_view, self._chat = si("trigger=product_view"), si("trigger=chat_message")
        self._type = {t: ai(f"type={t.value}") for t in InterventionType}
        self._pct, self._has_product = ai("discount_pct"), ai("has_product")
        self._fbt = ai("rel=co_purchased_current")

    @property
    def version(self) -> str:
        """:data:`RULES_VERSION`."""
        return RULES_VERSION

    def _conditions(self, s: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.bool_]]:
        exit_intent = (s[:, self._exit_trigger] > 0.5) | (s[:, self._exit_flag] > 0.5)
        checkout = ~exit_intent & (s[:, self._cart] > 0) & (s[:, self._checkout] > 0.5)
        product_view = ~exit_intent & ~checkout & (s[:, self._product_view] > 0.5)
        chat = ~exit_intent & ~checkout & ~product_view & (s[:, self._chat] > 0.5)
        return {"exit_intent": exit_intent, "checkout": checkout, "product_view": product_view, "chat": chat}

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Rule preferences ``[N, K]`` (see the class docstring); masked entries are ``MASKED_SCORE``."""
        s, c, m = check_batch(state, candidates, mask, self.state_dim, self.action_dim)
        kind = {t: c[:, :, i] > 0.5 for t, i in self._type.items()}
        when = {name: cond[:, None] for name, cond in self._conditions(s).items()}
        discount = kind[InterventionType.DISCOUNT] & np.isclose(c[:, :, self._pct], self.discount_pct / 100.0)
        fbt = (c[:, :, self._has_product] > 0.5) & (c[:, :, self._fbt] > 0.5)
        out = np.where(kind[InterventionType.NONE], 0.0, -1.0)
        nudge = kind[InterventionType.CHECKOUT_NUDGE]
        out = np.where(when["exit_intent"] & discount, 3.0, out)
        out = np.where(when["exit_intent"] & nudge, 2.0, out)
        out = np.where(when["checkout"] & nudge, 3.0, out)
        out = np.where(when["product_view"] & fbt & kind[InterventionType.UPSELL], 3.0, out)
        out = np.where(when["product_view"] & fbt & kind[InterventionType.CROSS_SELL], 2.0, out)
        out = np.where(when["chat"] & kind[InterventionType.CONCIERGE_MESSAGE], 3.0, out)
        return np.where(m, out, MASKED_SCORE)

    def rule_of(self, state: npt.NDArray[np.float32]) -> str:
        """The rule that applies to one state vector: ``exit_intent``, ``checkout``, ``product_view``, ``chat``, else
        ``default``."""
        s = np.asarray(state, dtype=np.float32).reshape(1, -1)
        for name, cond in self._conditions(s).items():
            if bool(cond[0]):
                return name
        return "default"

    def rules_of(self, states: npt.NDArray[np.float32]) -> list[str]:
        """:meth:`rule_of` for every row of ``states[N, S]``, in one pass."""
        s = np.asarray(states, dtype=np.float32).reshape(-1, self.state_dim)
        rules = np.full(s.shape[0], "default", dtype=object)
        for name, cond in reversed(self._conditions(s).items()):  # the first matching rule is written last
            rules[cond] = name
        return [str(rule) for rule in rules]

    def explain(self, state: npt.NDArray[np.float32]) -> list[FeatureContribution]:
        """The rule that decided, as one contribution named ``rule=<name>``."""
        return [FeatureContribution(name=f"rule={self.rule_of(state)}", value=1.0, contribution=1.0)]

    def explain_many(self, states: npt.NDArray[np.float32]) -> list[list[FeatureContribution]]:
        """:meth:`explain` for every row of ``states[N, S]``."""
        return [
            [FeatureContribution(name=f"rule={rule}", value=1.0, contribution=1.0)] for rule in self.rules_of(states)
        ]
