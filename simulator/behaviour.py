"""The shopper model's probabilities: one function per behaviour, shared by sessions and the oracle.

Every random choice the simulation makes about a shopper compares a uniform draw with one of these functions,
so the oracle (:mod:`simulator.oracle`) computes expectations from exactly the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np

from simulator.activity import ActionType, Intervention
from simulator.catalogue import Catalogue, Product
from simulator.shopper import AddRates, ShopperState, ShopperTraits
from simulator.state import SessionState

__all__ = [
    "ANNOYANCE_COST_EUR",
    "CATEGORY_STAY",
    "DEFAULT_DISCOUNT_PCT",
    "EMAIL_CONSENT_RATE",
    "LEAD_VALUE_EUR",
    "MEAN_ADD_QUANTITY",
    "OFFER_TTL_S",
    "PERSONALISATION_CONSENT_RATE",
    "SESSION_TIMEOUT_S",
    "VIEW_SHARE",
    "ReactionKind",
    "ReactionOdds",
    "add_probability",
    "add_rates",
    "annoyance_weight",
    "appeal",
    "completion_probability",
    "defer_probability",
    "drop_hazard",
    "expected_adds",
    "price_fit",
    "reaction_odds",
    "resolve_offer",
    "return_probability",
    "survey_score",
]

ReactionKind: TypeAlias = Literal["accept", "ignore", "dismiss", "leave"]

SESSION_TIMEOUT_S: Final = 1800.0
"""An idle pause longer than this ends the session with reason ``timeout`` (at last event + timeout)."""
ANNOYANCE_COST_EUR: Final = 4.0
"""Ground-truth cost of one unit of annoyance (lost retention), charged per expected increase."""
LEAD_VALUE_EUR: Final = 2.0
"""Ground-truth value of an email signup with marketing consent."""
EMAIL_CONSENT_RATE: Final = 0.8
PERSONALISATION_CONSENT_RATE: Final = 0.85
"""Share of shoppers who accept personalisation on the consent banner of their first visit."""
OFFER_TTL_S: Final = 86400.0
"""An accepted discount stays on the shopper (account or cookie) this long."""
DEFAULT_DISCOUNT_PCT: Final = 10.0
"""Discount the oracle assumes for a ``discount`` action without a percentage."""
VIEW_SHARE: Final = 0.55
"""Share of browse steps that are product views."""
CATEGORY_STAY: Final = 0.6
"""Probability that the next browse step stays in the current category."""
MEAN_ADD_QUANTITY: Final = 1.3
"""Mean units per add to cart (1 with 80%, else 2 or 3)."""

_NUISANCE: Final[dict[ActionType, float]] = {
    "none": 0.0,
    "upsell": 0.6,
    "cross_sell": 0.6,
    "discount": 0.35,
    "checkout_nudge": 0.7,
    "email_capture": 1.0,
    "concierge_message": 0.5,
}
_REACTION_ANNOYANCE: Final[dict[ReactionKind, float]] = {
    "accept": 0.3,
    "ignore": 0.8,
    "dismiss": 1.2,
    "leave": 1.5,
}


def price_fit(price: float, budget: float, sensitivity: float) -> float:
    """Willingness in (0, 1) to pay ``price`` given a budget: 0.5 at the budget, steeper when sensitive.

    >>> round(price_fit(35.0, 70.0, 0.5), 3), round(price_fit(70.0, 70.0, 0.9), 3)
    (0.85, 0.5)
    """
    ratio = max(price, 0.0) / max(budget, 1e-9)
    return 1.0 / (1.0 + float(ratio ** (1.0 + 3.0 * sensitivity)))


def add_probability(traits: ShopperTraits, state: SessionState, product: Product, preference: float) -> float:
    """Probability that a product view turns into an add to cart."""
    if not product.in_stock or product.product_id in state.cart:
        return 0.0
    fit = price_fit(product.price, traits.budget, traits.price_sensitivity)
    return min(0.95, state.intent * (0.2 + 0.8 * preference) * fit * 0.8)


def add_rates(shopper: ShopperState, catalogue: Catalogue) -> AddRates:
    """Expected adds and added EUR per browse step, per unit of intent (computed once per shopper and cached).

    The oracle's summary of :func:`add_probability` over future product views: products by popularity, mean
    quantity :data:`MEAN_ADD_QUANTITY`, the 0.95 cap ignored.
    """
    if shopper.add_rates is not None:
        return shopper.add_rates
    traits, cols = shopper.traits, catalogue.arrays
    k = len(catalogue.categories)
    ratio = cols.price / max(traits.budget, 1e-9)
    fit = np.where(cols.in_stock, 1.0 / (1.0 + ratio ** (1.0 + 3.0 * traits.price_sensitivity)), 0.0)
    total = np.bincount(cols.category, weights=cols.popularity, minlength=k)
    count = np.bincount(cols.category, weights=cols.popularity * fit, minlength=k)
    value = np.bincount(cols.category, weights=cols.popularity * fit * cols.price, minlength=k)
    scale = VIEW_SHARE * 0.8 * (0.2 + 0.8 * np.array(traits.rel_prefs)) / total
    counts, values = (scale * count).tolist(), (scale * value * MEAN_ADD_QUANTITY).tolist()
    prefs = traits.category_prefs
    rates = AddRates(
        tuple(counts),
        tuple(values),
        sum(p * c for p, c in zip(prefs, counts, strict=True)),
        sum(p * v for p, v in zip(prefs, values, strict=True)),
    )
    shopper.add_rates = rates
    return rates


def expected_adds(rates: AddRates, category_index: int | None, intent: float, steps: int) -> tuple[float, float]:
    """Expected number of adds and added EUR over ``steps`` browse steps starting in a category.

    Browsing stays in the current category with probability :data:`CATEGORY_STAY` per step, else draws one by
    preference; so step ``k`` is in the starting category with extra weight ``CATEGORY_STAY ** k``.
    """
    count, value = steps * rates.count, steps * rates.value
    if category_index is not None and steps > 0:
        sticky = CATEGORY_STAY * (1.0 - CATEGORY_STAY**steps) / (1.0 - CATEGORY_STAY)
        count += sticky * (rates.counts[category_index] - rates.count)
        value += sticky * (rates.values[category_index] - rates.value)
    return intent * count, intent * value


def completion_probability(
    traits: ShopperTraits,
    state: SessionState,
    annoyance: float,
    gross: float | None = None,
    *,
    intent: float | None = None,
    session_boosts: bool = True,
) -> float:
    """Probability that a checkout ends in a purchase (before conditioning on failed earlier checkouts).

    Args:
        traits: the shopper.
        state: the session (cart, discount, concierge engagement, nudge).
        annoyance: the shopper's annoyance at checkout.
        gross: cart value to assume (default: the cart's).
        intent: intent to assume (default: the session's).
        session_boosts: apply this session's engagement and nudge boosts (a later session has neither).
    """
    value = state.cart_gross if gross is None else gross
    net = value * (1.0 - state.discount_pct / 100.0)
    intent = state.intent if intent is None else intent
    p = (0.25 + 0.6 * intent) * math.sqrt(price_fit(net, 2.0 * traits.budget, traits.price_sensitivity))
    p *= 1.0 + 3.0 * traits.discount_responsiveness * state.discount_pct / 100.0
    if session_boosts:
        p *= (1.25 if state.engaged else 1.0) * (1.1 if state.nudged else 1.0)
    p *= 1.0 - 0.5 * annoyance
    return min(0.97, max(0.0, p))


def drop_hazard(traits: ShopperTraits, state: SessionState, annoyance: float) -> float:
    """Per browse step probability that the shopper gives up before resolving."""
    h = 0.06 * math.sqrt(25.0 / traits.patience) * (1.0 + 2.0 * annoyance) * (0.6 if state.engaged else 1.0)
    return min(0.6, h)


def defer_probability(state: SessionState) -> float:
    """Probability that an unconverted session with an accepted offer comes back later to buy."""
    if state.purchased or not state.cart or not state.offer_accepted:
        return 0.0
    return 0.2 + 0.4 * state.intent


def survey_score(u: float, accepted: bool, annoyance: float) -> int:
    """A 1-5 satisfaction score: 4 +0.5 when an offer was accepted, -3 per unit of annoyance, +-1 noise.

    >>> survey_score(0.5, True, 0.0), survey_score(0.5, False, 0.9)
    (4, 1)
    """
    raw = 4.0 + (0.5 if accepted else 0.0) - 3.0 * annoyance + (2.0 * u - 1.0)
    return max(1, min(5, round(raw)))


def return_probability(traits: ShopperTraits, annoyance: float) -> float:
    """Probability of another organic visit after a session ends; annoyance lowers retention."""
    return traits.return_rate * (1.0 - 0.6 * annoyance)


def annoyance_weight(traits: ShopperTraits, action: ActionType, reaction: ReactionKind) -> float:
    """Share of the remaining annoyance headroom one intervention adds."""
    return traits.annoyance_sensitivity * _NUISANCE[action] * _REACTION_ANNOYANCE[reaction]


def resolve_offer(
    action: Intervention, traits: ShopperTraits, state: SessionState, catalogue: Catalogue
) -> Product | None:
    """The product an upsell or cross-sell offers: the named one, else the model's canonical choice.

    Upsell: a pricier in-stock product of the current (else cart, else favourite) category. Cross-sell: the
    most popular in-stock product of the named category, else of the strongest complement of the cart's
    categories.
    """
    if action.action not in ("upsell", "cross_sell"):
        return None
    if action.product_id is not None:
        return catalogue.product(action.product_id)
    exclude = tuple(state.cart)
    if action.action == "upsell":
        category = action.category or state.category or next(iter(state.cart_categories), None)
        if category is None:
            category = catalogue.categories[
                max(range(len(catalogue.categories)), key=traits.category_prefs.__getitem__)
            ]
        current = catalogue.product(state.product_id) if state.product_id else None
        floor = current.price if current is not None and current.category == category else 0.0
        candidates = catalogue.top_in(category, exclude)
        pricier = [p for p in candidates[:20] if p.price > floor]
        return pricier[0] if pricier else (candidates[0] if candidates else None)
    category = action.category
    if category is None:
        sources = state.cart_categories or ((state.category,) if state.category else ())
        ranked = sorted(
            ((catalogue.complement(a, b), b) for a in sources for b in catalogue.complements_of(a)),
            key=lambda x: (-x[0], x[1]),
        )
        category = ranked[0][1] if ranked else None
    if category is None:
        return None
    top = catalogue.top_in(category, exclude)
    return top[0] if top else None


def appeal(
    action: Intervention,
    shopper: ShopperState,
    state: SessionState,
    catalogue: Catalogue,
    offer: Product | None,
) -> float:
    """Acceptance probability of an intervention for a shopper with no annoyance."""
    traits = shopper.traits
    has_cart = bool(state.cart)
    kind = action.action
    if kind in ("upsell", "cross_sell"):
        if offer is None or not offer.in_stock or offer.product_id in state.cart:
            return 0.0
        pref = traits.preference(catalogue.category_index[offer.category])
        fit = price_fit(offer.price, traits.budget, traits.price_sensitivity)
        if kind == "upsell":
            in_context = offer.category == state.category or offer.category in state.cart_categories
            a = 0.45 * (0.2 + 0.8 * pref) * fit * (1.0 if in_context else 0.5) * (0.5 + state.intent)
        else:
            sources = state.cart_categories or ((state.category,) if state.category else ())
            link = max((catalogue.complement(c, offer.category) for c in sources), default=0.0)
            a = 0.4 * (0.15 + 0.85 * link) * math.sqrt(0.3 + 0.7 * pref) * fit * (1.0 if has_cart else 0.4)
        return min(0.9, a)
    if kind == "discount":
        pct = action.discount_pct if action.discount_pct is not None else DEFAULT_DISCOUNT_PCT
        a = traits.discount_responsiveness * min(1.0, 0.3 + pct / 20.0)
        a *= (1.4 if state.discount_seeker else 1.0) * (1.0 if has_cart else 0.6)
        return min(0.95, a) if pct > state.discount_pct else 0.02
    if kind == "checkout_nudge":
        return 0.15 + 0.5 * state.intent if has_cart and state.phase == "browse" else 0.01
    if kind == "email_capture":
        return 0.0 if shopper.email_signed_up else min(0.9, 0.02 + 0.6 * traits.email_propensity)
    if kind == "concierge_message":
        return 0.55 if state.asked_question else 0.05 + 0.3 * traits.chattiness
    return 0.0


@dataclass(frozen=True, slots=True)
class ReactionOdds:
    """Probabilities of the four reactions to a shown intervention (they sum to 1)."""

    accept: float
    ignore: float
    dismiss: float
    leave: float

    def draw(self, u: float) -> ReactionKind:
        """The reaction for a uniform draw ``u`` (order: leave, dismiss, accept, ignore)."""
        if u < self.leave:
            return "leave"
        if u < self.leave + self.dismiss:
            return "dismiss"
        if u < self.leave + self.dismiss + self.accept:
            return "accept"
        return "ignore"


def reaction_odds(action: ActionType, annoyance: float, appeal_: float, leaving: bool) -> ReactionOdds:
    """Reaction probabilities from current annoyance and the offer's appeal.

    Annoyance raises leaving and dismissing and suppresses acceptance; a shopper already leaving leaves more.
    """
    if action == "none":
        return ReactionOdds(accept=0.0, ignore=1.0, dismiss=0.0, leave=0.0)
    leave = 0.01 + 0.35 * annoyance**2 + (0.4 if leaving else 0.0)
    dismiss = (0.08 + 0.6 * annoyance) * (0.5 + _NUISANCE[action])
    accept = appeal_ * (1.0 - annoyance) ** 1.5
    total = leave + dismiss + accept
    if total > 0.98:
        scale = (0.98 - leave) / (dismiss + accept)
        dismiss, accept = dismiss * scale, accept * scale
    return ReactionOdds(accept=accept, ignore=max(0.0, 1.0 - leave - dismiss - accept), dismiss=dismiss, leave=leave)
