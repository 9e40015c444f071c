"""The guardrails themselves: which candidates a decision may not take, and which rules said so."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from schemas.decisions import Action, InterventionType
from serving.guardrails.config import GuardrailConfig, Purpose
from serving.guardrails.state import FeatureRow, GuardContext, SharedGuardState, UserGuardState, discount_value

__all__ = ["RULE_ORDER", "GuardResult", "GuardrailLabel", "evaluate", "has_consent"]


class GuardrailLabel(StrEnum):
    """Names of the guardrails, as logged on decisions (``Decision.guardrails``)."""

    CONSENT_MARKETING = "consent_marketing"
    CONSENT_PERSONALISATION = "consent_personalisation"
    ALREADY_SUBSCRIBED = "already_subscribed"
    DISMISSAL_COOLDOWN = "dismissal_cooldown"
    SESSION_CAP = "session_cap"
    USER_DAILY_CAP = "user_daily_cap"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    OUT_OF_STOCK = "out_of_stock"
    DISCOUNT_LEVEL_CAP = "discount_level_cap"
    DISCOUNT_USER_COUNT = "discount_user_count"
    DISCOUNT_USER_BUDGET = "discount_user_budget"
    DISCOUNT_GLOBAL_BUDGET = "discount_global_budget"
    FAIRNESS_DISCOUNT_PARITY = "fairness_discount_parity"


RULE_ORDER: tuple[GuardrailLabel, ...] = tuple(GuardrailLabel)
"""The order rules are checked and reported in: consent, cool-down, caps, sentiment, stock, discounts, fairness."""

_CONSENT_LABELS = {
    Purpose.MARKETING: GuardrailLabel.CONSENT_MARKETING,
    Purpose.PERSONALISATION: GuardrailLabel.CONSENT_PERSONALISATION,
}


@dataclass(frozen=True, slots=True)
class GuardResult:
    """The guardrails' verdict on one decision's candidates.

    Attributes:
        mask: ``True`` where the candidate is allowed (``none`` always is).
        applied: labels of the rules that masked at least one candidate, in :data:`RULE_ORDER` (for the decision).
        blocked_by: per candidate, every rule that masked it (empty when allowed).
    """

    mask: npt.NDArray[np.bool_]
    applied: tuple[GuardrailLabel, ...]
    blocked_by: tuple[tuple[GuardrailLabel, ...], ...]

    def padded(self, k: int) -> npt.NDArray[np.bool_]:
        """The mask padded with ``False`` to ``k`` entries (the policy's fixed K)."""
        out = np.zeros(k, dtype=np.bool_)
        out[: self.mask.shape[0]] = self.mask
        return out


def _number(row: FeatureRow | None, name: str) -> float | None:
    value = row.get(name) if row is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def has_consent(user_row: FeatureRow | None, purpose: Purpose, config: GuardrailConfig) -> bool:
    """Whether the user consented to ``purpose`` (an unknown value means ``config.missing_consent_allows``).

    >>> has_consent({"consent_marketing": True}, Purpose.MARKETING, GuardrailConfig())
    True
    >>> has_consent(None, Purpose.PERSONALISATION, GuardrailConfig())
    False
    """
    value = user_row.get(config.consent_features[purpose]) if user_row is not None else None
    return value if isinstance(value, bool) else config.missing_consent_allows


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a decision's rules need, computed once per decision."""

    lacking: frozenset[Purpose]
    subscribed: bool
    reply: bool
    frequency: tuple[GuardrailLabel, ...]
    negative: bool
    discount_offers: int
    discount_offered: float
    discount_spent: float
    unfair: bool


def _facts(context: GuardContext, user: UserGuardState, shared: SharedGuardState, config: GuardrailConfig) -> _Facts:
    now, day = context.now_s, config.day_s
    cooling = user.last_dismissal_s is not None and now - user.last_dismissal_s < config.dismissal_cooldown_s
    frequency = (
        (GuardrailLabel.DISMISSAL_COOLDOWN, cooling),
        (GuardrailLabel.SESSION_CAP, user.in_session(context.session_id, now, day) >= config.max_per_session),
        (GuardrailLabel.USER_DAILY_CAP, len(user.recent(now, day)) >= config.max_per_user_day),
    )
    sentiment = _number(context.session_row, "last_sentiment")
    offers, offered = user.discounts(now, day)
    fairness = config.fairness
    return _Facts(
        lacking=frozenset(p for p in Purpose if not has_consent(context.user_row, p, config)),
        subscribed=context.user_row is not None
        and context.user_row.get(config.consent_features[Purpose.MARKETING]) is True,
        reply=context.trigger in config.reply_triggers,
        frequency=tuple(label for label, active in frequency if active),
        negative=sentiment is not None and sentiment < config.negative_sentiment_below,
        discount_offers=offers,
        discount_offered=offered,
        discount_spent=shared.discount_spent(now),
        unfair=fairness.attribute is not None
        and context.group is not None
        and shared.fairness.exceeds(context.group, now, fairness),
    )


def _type_reasons(kind: InterventionType, facts: _Facts, config: GuardrailConfig) -> tuple[GuardrailLabel, ...]:
    """The rules that depend on the intervention type only: consent, cool-down, caps, sentiment."""
    purposes = config.action_purposes.get(kind, ())
    reasons = [label for purpose, label in _CONSENT_LABELS.items() if purpose in purposes and purpose in facts.lacking]
    if kind is InterventionType.EMAIL_CAPTURE and facts.subscribed:
        reasons.append(GuardrailLabel.ALREADY_SUBSCRIBED)
    if facts.frequency and not (facts.reply and kind in config.reply_types):
        reasons += facts.frequency
    if facts.negative and kind in config.sentiment_masked_types:
        reasons.append(GuardrailLabel.NEGATIVE_SENTIMENT)
    return tuple(reasons)


def _discount_reasons(
    action: Action, facts: _Facts, context: GuardContext, config: GuardrailConfig
) -> tuple[GuardrailLabel, ...]:
    """The rules of a discount's level: level cap, per-user count and value, global budget, fairness."""
    cost = discount_value(action, context.session_row, config)
    checks = (
        (GuardrailLabel.DISCOUNT_LEVEL_CAP, (action.discount_pct or 0.0) > config.max_discount_pct),
        (GuardrailLabel.DISCOUNT_USER_COUNT, facts.discount_offers >= config.max_discounts_per_user_day),
        (
            GuardrailLabel.DISCOUNT_USER_BUDGET,
            facts.discount_offered + cost > config.max_discount_value_per_user_day,
        ),
        (GuardrailLabel.DISCOUNT_GLOBAL_BUDGET, facts.discount_spent + cost > config.global_discount_budget),
        (GuardrailLabel.FAIRNESS_DISCOUNT_PARITY, facts.unfair),
    )
    return tuple(label for label, active in checks if active)


def evaluate(
    candidates: Sequence[Action],
    context: GuardContext,
    user: UserGuardState,
    shared: SharedGuardState,
    config: GuardrailConfig,
) -> GuardResult:
    """Mask the candidates a decision may not take; pure and deterministic.

    Rules, in :data:`RULE_ORDER`: consent per purpose; the cool-down after a dismissal; the per-session and per-user
    daily frequency caps (replies to a chat are exempt from these three); sentiment moderation; stock; discount level,
    per-user count and value, global budget; fairness parity. ``none`` is never masked. Every rule is checked for
    every candidate, so ``blocked_by`` lists all the reasons a candidate was masked.

    Args:
        candidates: the decision's candidate actions, in order.
        context: event time, session, trigger, rows and fairness group.
        user: the user's guard state.
        shared: the partition's shared guard state.
        config: the guardrail settings.

    Returns:
        The :class:`GuardResult`.
    """
    facts = _facts(context, user, shared, config)
    blocked: list[tuple[GuardrailLabel, ...]] = []
    applied: set[GuardrailLabel] = set()
    by_type: dict[InterventionType, tuple[GuardrailLabel, ...]] = {}
    rows = context.product_rows
    for action in candidates:
        kind = action.type
        if kind is InterventionType.NONE:
            blocked.append(())
            continue
        reasons = by_type.get(kind)
        if reasons is None:
            reasons = by_type[kind] = _type_reasons(kind, facts, config)
        # The slot's rules: stock <= 0 masks a product offer (no row, no value or -1 = unknown allows it); then a
        # discount's level, counts and budgets.
        if action.product_id is not None:
            row = rows.get(action.product_id)
            stock = row.get("stock") if row is not None else None
            if isinstance(stock, int) and not isinstance(stock, bool) and stock <= 0 and stock != -1:
                reasons += (GuardrailLabel.OUT_OF_STOCK,)
        if kind is InterventionType.DISCOUNT:
            reasons += _discount_reasons(action, facts, context, config)
        blocked.append(reasons)
        if reasons:
            applied.update(reasons)
    mask = np.array([not reasons for reasons in blocked], dtype=np.bool_)
    labels = tuple(lb for lb in RULE_ORDER if lb in applied) if applied else ()
    return GuardResult(mask, labels, tuple(blocked))
