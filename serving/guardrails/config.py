"""Guardrail settings: caps, cool-down, consent purposes, discount budgets, sentiment, fairness."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from schemas.decisions import InterventionType
from serving.guardrails.errors import GuardrailConfigError

__all__ = [
    "DEFAULT_ACTION_PURPOSES",
    "DEFAULT_CONSENT_FEATURES",
    "FairnessConfig",
    "GuardrailConfig",
    "Purpose",
]


class Purpose(StrEnum):
    """A consent purpose (granular consent: each intervention needs the consent of its purposes)."""

    MARKETING = "marketing"
    """Marketing communication: collecting an e-mail address for it, discounts as marketing offers."""
    PERSONALISATION = "personalisation"
    """Processing behaviour to personalise the shop: concierge messages written for this shopper."""


DEFAULT_ACTION_PURPOSES: Final[Mapping[InterventionType, tuple[Purpose, ...]]] = MappingProxyType(
    {
        InterventionType.UPSELL: (Purpose.PERSONALISATION,),
        InterventionType.CROSS_SELL: (Purpose.PERSONALISATION,),
        InterventionType.DISCOUNT: (Purpose.PERSONALISATION,),
        InterventionType.CONCIERGE_MESSAGE: (Purpose.PERSONALISATION,),
    }
)
"""Purposes each intervention needs; types not listed need none. Offers chosen from the shopper's behaviour and
concierge messages written for them are personalisation. An e-mail capture prompt *asks* for marketing consent, so it
needs none (but is not shown to a shopper who already gave it); a checkout nudge uses the session only."""

DEFAULT_CONSENT_FEATURES: Final[Mapping[Purpose, str]] = MappingProxyType(
    {Purpose.MARKETING: "consent_marketing", Purpose.PERSONALISATION: "consent_personalisation"}
)
"""The user feature holding each purpose's consent (``consent_update`` events, and ``email_signup`` for marketing)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise GuardrailConfigError(message)


@dataclass(frozen=True, slots=True)
class FairnessConfig:
    """Discount-offer rate parity across the groups of one protected attribute.

    Args:
        attribute: the protected attribute's name (e.g. ``"age_band"``); ``None`` disables the rule. Groups come from
            an attribute lookup supplied by the agent (``GuardContext.group``), never from the policy's inputs.
        max_gap: largest allowed difference between a group's discount-offer rate and the lowest other group's.
        window_s: event-time window of the rates.
        bucket_s: granularity of the window (the window is the last ``ceil(window_s / bucket_s)`` buckets).
        min_decisions: decisions a group needs in the window before its rate is compared (or compared against).
    """

    attribute: str | None = None
    max_gap: float = 0.05
    window_s: float = 86_400.0
    bucket_s: float = 3_600.0
    min_decisions: int = 100

    def __post_init__(self) -> None:
        _check(0.0 <= self.max_gap <= 1.0, f"max_gap must be in [0, 1], got {self.max_gap}")
        _check(0 < self.bucket_s <= self.window_s, f"need 0 < bucket_s <= window_s: {self.bucket_s} {self.window_s}")
        _check(self.min_decisions >= 1, f"min_decisions must be >= 1, got {self.min_decisions}")

    @property
    def n_buckets(self) -> int:
        """Buckets in the window."""
        return math.ceil(self.window_s / self.bucket_s)


@dataclass(frozen=True, slots=True)
class GuardrailConfig:
    """Every guardrail's parameters (event-time seconds; money in the shop currency).

    Args:
        max_per_session: most interventions (non-``none`` decisions) per session.
        max_per_user_day: most interventions per user in a rolling day (``day_s``).
        day_s: length of the rolling "day" of the per-user caps and budgets.
        dismissal_cooldown_s: no intervention for this long after the user dismissed one.
        action_purposes: consent purposes each intervention type needs.
        consent_features: the user feature holding each purpose's consent.
        missing_consent_allows: what an unknown consent (no user row, no value) means; ``False`` (default) denies.
        reply_triggers: triggers where the shopper addressed us (chat): ``reply_types`` answering them skip the
            frequency caps and the cool-down (never consent).
        reply_types: intervention types that count as replies.
        negative_sentiment_below: ``last_sentiment`` below this masks ``sentiment_masked_types``.
        sentiment_masked_types: the pushy interventions sentiment moderation masks.
        max_discount_pct: highest discount level one decision may offer.
        max_discounts_per_user_day: most discount offers per user per rolling day.
        max_discount_value_per_user_day: most discount value offered per user per rolling day.
        min_discount_basis: the order value a discount is costed on when the cart is smaller (an offer outlives the
            current cart): cost = pct / 100 * max(cart_value, min_discount_basis).
        global_discount_budget: most discount value offered per ``global_budget_window_s`` (per worker partition).
        global_budget_window_s: the window of the global budget.
        budget_bucket_s: granularity of that window.
        max_user_records: most interventions remembered per user (older ones fall out of the caps anyway).
        fairness: the discount parity rule.

    Raises:
        GuardrailConfigError: a negative cap or budget, a non-positive window.
    """

    max_per_session: int = 3
    max_per_user_day: int = 8
    day_s: float = 86_400.0
    dismissal_cooldown_s: float = 900.0
    action_purposes: Mapping[InterventionType, tuple[Purpose, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ACTION_PURPOSES)
    )
    consent_features: Mapping[Purpose, str] = field(default_factory=lambda: dict(DEFAULT_CONSENT_FEATURES))
    missing_consent_allows: bool = False
    reply_triggers: frozenset[str] = frozenset({"chat_message"})
    reply_types: frozenset[InterventionType] = frozenset({InterventionType.CONCIERGE_MESSAGE})
    negative_sentiment_below: float = -0.25
    sentiment_masked_types: frozenset[InterventionType] = frozenset(
        {InterventionType.UPSELL, InterventionType.CROSS_SELL, InterventionType.DISCOUNT}
    )
    max_discount_pct: float = 15.0
    max_discounts_per_user_day: int = 2
    max_discount_value_per_user_day: float = 30.0
    min_discount_basis: float = 50.0
    global_discount_budget: float = 2_000.0
    global_budget_window_s: float = 3_600.0
    budget_bucket_s: float = 60.0
    max_user_records: int = 64
    fairness: FairnessConfig = field(default_factory=FairnessConfig)

    def __post_init__(self) -> None:
        caps = (self.max_per_session, self.max_per_user_day, self.max_discounts_per_user_day)
        _check(all(c >= 0 for c in caps), f"caps must be >= 0: {caps}")
        money = (self.max_discount_value_per_user_day, self.min_discount_basis, self.global_discount_budget)
        _check(all(m >= 0 for m in money), f"budgets must be >= 0: {money}")
        _check(self.day_s > 0 and self.dismissal_cooldown_s >= 0, "day_s must be > 0 and the cool-down >= 0")
        _check(
            0 < self.budget_bucket_s <= self.global_budget_window_s,
            f"need 0 < budget_bucket_s <= global_budget_window_s: {self.budget_bucket_s} {self.global_budget_window_s}",
        )
        _check(0.0 <= self.max_discount_pct <= 100.0, f"max_discount_pct must be in [0, 100]: {self.max_discount_pct}")
        _check(self.max_user_records >= self.max_per_user_day, "max_user_records must cover max_per_user_day")
        missing = {p for ps in self.action_purposes.values() for p in ps} - set(self.consent_features)
        _check(not missing, f"purposes without a consent feature: {sorted(missing)}")

    @property
    def budget_buckets(self) -> int:
        """Buckets in the global budget window."""
        return math.ceil(self.global_budget_window_s / self.budget_bucket_s)
