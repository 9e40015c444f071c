"""What each guardrail did to one decision: blocked every intervention, changed the policy's preferred one, or masked
others only (what the worker counts per rule in ``kairos_guardrails_total``)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from schemas.decisions import InterventionType
from serving.guardrails.mask import RULE_ORDER, GuardrailLabel, GuardResult

__all__ = ["GuardrailEffect", "effects"]


class GuardrailEffect(StrEnum):
    """How a guardrail that masked at least one candidate bore on the decision (strongest first)."""

    BLOCKED = "blocked"
    """Every intervention was masked: only ``none`` was left to choose."""
    CHANGED = "changed"
    """It masked the candidate the policy scored highest, so the decision is not the policy's first preference."""
    MASKED = "masked"
    """It masked other candidates only: the policy's first preference stayed allowed."""


def effects(
    result: GuardResult, types: Sequence[InterventionType], scores: npt.ArrayLike
) -> tuple[tuple[GuardrailLabel, GuardrailEffect], ...]:
    """The effect of each rule in ``result.applied`` on one decision, in rule order.

    A decision is *blocked* when no intervention candidate is left: every rule that masked one is credited with it.
    Otherwise the rules that masked the candidate the policy scored highest *changed* it (ties: the first), and the
    others only *masked*. With a stochastic policy "changed" means its first preference was taken away, not that the
    draw would have picked it.

    Args:
        result: the guardrails' verdict on the decision's candidates.
        types: the candidates' intervention types, in order.
        scores: the policy's scores of the candidates (padding after ``len(types)`` is ignored).

    Returns:
        ``(rule, effect)`` pairs, one per applied rule.

    >>> from serving.guardrails.mask import GuardResult, GuardrailLabel as L
    >>> T = InterventionType
    >>> kinds = [T.NONE, T.DISCOUNT, T.UPSELL, T.CROSS_SELL]
    >>> blocked = ((), (L.DISCOUNT_LEVEL_CAP,), (), (L.OUT_OF_STOCK,))
    >>> r = GuardResult(np.array([True, False, True, False]), (L.OUT_OF_STOCK, L.DISCOUNT_LEVEL_CAP), blocked)
    >>> [(str(rule), str(e)) for rule, e in effects(r, kinds, [0.1, 0.9, 0.5, 0.3])]
    [('out_of_stock', 'masked'), ('discount_level_cap', 'changed')]
    >>> blocked = ((), (L.SESSION_CAP,), (L.SESSION_CAP,), (L.SESSION_CAP, L.OUT_OF_STOCK))
    >>> r = GuardResult(np.array([True, False, False, False]), (L.SESSION_CAP, L.OUT_OF_STOCK), blocked)
    >>> [(str(rule), str(e)) for rule, e in effects(r, kinds, [0.9, 0.1, 0.5, 0.3])]
    [('session_cap', 'blocked'), ('out_of_stock', 'blocked')]
    """
    if not result.applied:
        return ()
    n = len(types)
    offers = [i for i in range(n) if types[i] is not InterventionType.NONE]
    if offers and not any(bool(result.mask[i]) for i in offers):
        return tuple((rule, GuardrailEffect.BLOCKED) for rule in result.applied)
    top = int(np.argmax(np.asarray(scores, dtype=np.float64)[:n])) if n else -1
    changed = set(result.blocked_by[top]) if top >= 0 else set()
    return tuple(
        (rule, GuardrailEffect.CHANGED if rule in changed else GuardrailEffect.MASKED)
        for rule in RULE_ORDER
        if rule in result.applied
    )
