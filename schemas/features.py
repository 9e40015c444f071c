"""The feature contract: every online feature's name and type, per entity, shared by writers and readers.

One source of truth for three consumers: the streaming feature computation (``streams``), the Feast repository's
feature views (``featurestore``) and the state vector the policy reads (``serving``). Adding a feature means adding
it here (with a default, as the evolution rule says); Feast views and the writers follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FEATURE_VERSION",
    "PRODUCT_FEATURES",
    "SESSION_FEATURES",
    "USER_FEATURES",
    "FeatureSpec",
    "FeatureType",
]

FeatureType = Literal["int64", "float64", "bool", "string", "string_list"]

FEATURE_VERSION: Final = "v2"
"""Recorded on every decision with its feature snapshot; bump when a feature's meaning changes."""


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: its name in Feast and in the state vector, its type, its value when unknown."""

    name: str
    dtype: FeatureType
    description: str
    protected: bool = False  # fairness monitors may read it; the policy never does
    unknown: int | float | str | bool | None = None  # the value when unknown; None: the type's zero


SESSION_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("events_so_far", "int64", "events in the session so far"),
    FeatureSpec("dwell_s", "float64", "event time from the session's first event to its latest"),
    FeatureSpec("idle_s", "float64", "event time since the session's previous event, at its latest event"),
    FeatureSpec("page_switches_30s", "int64", "page and product views in the 30 s of event time up to the latest"),
    FeatureSpec("exit_intent", "bool", "an exit_intent event was seen and no activity followed"),
    FeatureSpec("cart_value", "float64", "value of the cart (adds minus removes, at their unit prices)"),
    FeatureSpec("cart_size", "int64", "items in the cart"),
    FeatureSpec("categories_browsed", "int64", "distinct categories viewed in the session"),
    FeatureSpec("searches", "int64", "search events in the session"),
    FeatureSpec("last_sentiment", "float64", "sentiment of the latest chat message, -1..1 (0 when none)"),
    FeatureSpec("last_intent", "string", "intent of the latest chat message ('' when none)"),
    FeatureSpec("checkout_started", "bool", "a checkout_start was seen in the session"),
)

USER_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("frequency", "int64", "BG/NBD frequency: number of repeat purchase days (distinct days - 1)"),
    FeatureSpec("recency_days", "float64", "BG/NBD recency: days from the first to the last purchase"),
    FeatureSpec("t_days", "float64", "BG/NBD T: days from the first purchase to now (customer age)"),
    FeatureSpec("monetary", "float64", "BG/NBD monetary: mean order value of repeat purchases (0 when none)"),
    FeatureSpec("purchase_count", "int64", "orders placed"),
    FeatureSpec("average_order_value", "float64", "mean order value over all orders"),
    FeatureSpec("top_category", "string", "the category with the highest affinity ('' when none)"),
    FeatureSpec("category_affinity", "float64", "share of the user's product views in top_category"),
    FeatureSpec("discount_responsiveness", "float64", "share of discount interventions the user clicked"),
    FeatureSpec("interventions_seen_1d", "int64", "intervention impressions in the last day of event time"),
    FeatureSpec("interventions_dismissed_1d", "int64", "intervention dismissals in the last day of event time"),
    FeatureSpec("consent_marketing", "bool", "marketing consent: the latest email_signup or consent_update stating it"),
    FeatureSpec("consent_personalisation", "bool", "personalisation consent from the latest consent_update stating it"),
)

PRODUCT_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("price", "float64", "latest price seen on a product view, add to cart or purchase"),
    FeatureSpec("category", "string", "category ('' when unknown)"),
    FeatureSpec("views_1h", "int64", "product views in the last hour of event time"),
    FeatureSpec("purchases_1h", "int64", "units purchased in the last hour of event time"),
    FeatureSpec("conversion_rate_1h", "float64", "purchases_1h / views_1h (0 when no views)"),
    FeatureSpec("co_purchased", "string_list", "product ids most often bought in the same order, best first (<= 5)"),
    FeatureSpec("stock", "int64", "units in stock, from the catalogue topic (-1 when unknown)", unknown=-1),
)
