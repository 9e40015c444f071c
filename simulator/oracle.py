"""Ground truth: the expected incremental value of every action at a moment, and regret.

``oracle_value`` = E[net revenue of the rest of the session chain | action] - E[... | no action]
- ``ANNOYANCE_COST_EUR`` * E[annoyance added] + ``LEAD_VALUE_EUR`` * P(email signup with consent).

Net revenue is order value after discount (the discount is the cost). The chain is the current session
plus the ``return_to_buy`` visit an accepted offer can cause. Expectations use the latent state (intent,
steps left, what failed checkouts revealed) and the same probability functions the simulation draws from
(:mod:`simulator.behaviour`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.activity import ACTION_TYPES, ActionType, Intervention
from simulator.behaviour import (
    ANNOYANCE_COST_EUR,
    DEFAULT_DISCOUNT_PCT,
    EMAIL_CONSENT_RATE,
    LEAD_VALUE_EUR,
    MEAN_ADD_QUANTITY,
    ReactionKind,
    ReactionOdds,
    add_probability,
    add_rates,
    annoyance_weight,
    appeal,
    completion_probability,
    drop_hazard,
    expected_adds,
    reaction_odds,
    resolve_offer,
)
from simulator.catalogue import Catalogue
from simulator.reaction import accept_effects
from simulator.shopper import ShopperState
from simulator.state import SessionState

__all__ = [
    "OracleBreakdown",
    "best_action",
    "canonical_action",
    "expected_net_value",
    "oracle_breakdown",
    "oracle_value",
    "oracle_values",
    "regret",
]

_REACTIONS: tuple[ReactionKind, ...] = ("accept", "ignore", "dismiss", "leave")
_LATER_ANNOYANCE_FACTOR = 0.25
_MEAN_DWELL_FACTOR = math.exp(0.6**2 / 2)  # mean of the log-normal dwell (sigma 0.6) over its median


def _decay(half_life_s: float, dt: float) -> float:
    return math.exp(-math.log(2) * dt / half_life_s)


@dataclass(frozen=True, slots=True)
class OracleBreakdown:
    """The parts of one oracle value: reaction odds, values per reaction, the baseline and the costs."""

    action: ActionType
    value: float
    odds: ReactionOdds
    appeal: float
    baseline: float
    by_reaction: dict[str, float]
    annoyance_cost: float
    lead_value: float
    product_id: str | None


def expected_net_value(
    shopper: ShopperState,
    state: SessionState,
    catalogue: Catalogue,
    t: float,
    *,
    annoyance: float | None = None,
    leaving: bool | None = None,
) -> float:
    """Expected net revenue still to come from this session and its possible return-to-buy visit.

    Args:
        shopper: the shopper (traits; its add rates are cached on it).
        state: the session state.
        catalogue: the products.
        t: the moment.
        annoyance: override the shopper's annoyance at ``t`` (what-if evaluation).
        leaving: override ``state.leaving``.
    """
    if state.purchased or state.ended:
        return 0.0
    traits = shopper.traits
    if annoyance is None:
        annoyance = shopper.annoyance_now(t)
    if leaving is None:
        leaving = state.leaving
    if leaving:
        p_in, p_cart, gross = 0.0, (1.0 if state.cart else 0.0), state.cart_gross
    else:
        n = 0 if state.phase == "checkout" else max(0, state.steps_left)
        # Annoyance decays while the shopper browses: the hazard sees it mid-way, the checkout at the end.
        horizon = (n + 1) * traits.patience * _MEAN_DWELL_FACTOR
        mid_way = annoyance * _decay(traits.annoyance_half_life_s, horizon / 2)
        p_reach = (1.0 - drop_hazard(traits, state, mid_way)) ** n
        category = catalogue.category_index.get(state.category) if state.category is not None else None
        adds, added = expected_adds(add_rates(shopper, catalogue), category, state.intent, n)
        viewing = catalogue.product(state.product_id) if state.page_type == "product" and state.product_id else None
        if viewing is not None and state.phase == "browse":
            pref = traits.preference(catalogue.category_index[viewing.category])
            p_add = add_probability(traits, state, viewing, pref)  # the add decided before the next step
            adds, added = adds + p_add, added + p_add * viewing.price * MEAN_ADD_QUANTITY
        if state.cart:
            p_cart, gross = 1.0, state.cart_gross + added
        else:
            p_cart = 1.0 - math.exp(-adds)  # adds are rare events per step: Poisson
            gross = added / p_cart if p_cart > 0.0 else 0.0
        at_checkout = annoyance * _decay(traits.annoyance_half_life_s, horizon)
        p_complete = completion_probability(traits, state, at_checkout, gross=gross)
        floor = state.u_floor
        p_complete = max(0.0, p_complete - floor) / (1.0 - floor) if floor < 1.0 else 0.0
        p_in = p_reach * p_cart * p_complete
    net = gross * (1.0 - state.discount_pct / 100.0)
    p_later = 0.0
    if state.offer_accepted:
        later = completion_probability(
            traits,
            state,
            annoyance * _LATER_ANNOYANCE_FACTOR,
            gross=gross,
            intent=max(0.6, state.intent),
            session_boosts=False,
        )
        p_later = (0.2 + 0.4 * state.intent) * later
    return (p_in + max(0.0, p_cart - p_in) * p_later) * net


def canonical_action(action: ActionType, session_id: str, t: float, decision_id: str = "oracle") -> Intervention:
    """The parameters the oracle assumes for an action type: model-chosen products, a 10% discount."""
    pct = DEFAULT_DISCOUNT_PCT if action == "discount" else None
    return Intervention(decision_id=decision_id, session_id=session_id, action=action, t=t, discount_pct=pct)


def oracle_breakdown(
    shopper: ShopperState,
    state: SessionState,
    action: Intervention,
    catalogue: Catalogue,
    t: float | None = None,
    *,
    baseline: float | None = None,
) -> OracleBreakdown:
    """The oracle value of ``action`` with its parts.

    The inputs are not modified (apart from the shopper's cached add rates).

    Args:
        shopper: the shopper's carried state.
        state: the session state at the decision.
        action: the intervention.
        catalogue: the products.
        t: the decision's sim time (default ``state.t``).
        baseline: :func:`expected_net_value` of doing nothing, if already known.
    """
    now = state.t if t is None else t
    traits = shopper.traits
    offer = resolve_offer(action, traits, state, catalogue)
    annoyance = shopper.annoyance_now(now)
    appeal_ = 0.0 if action.action == "none" else appeal(action, shopper, state, catalogue, offer)
    odds = reaction_odds(action.action, annoyance, appeal_, state.leaving)
    if baseline is None:
        baseline = expected_net_value(shopper, state, catalogue, now, annoyance=annoyance)
    pid = offer.product_id if offer is not None else action.product_id
    if action.action == "none" or state.ended:
        return OracleBreakdown(action.action, 0.0, odds, appeal_, baseline, {}, 0.0, 0.0, pid)
    total, added, lead = 0.0, 0.0, 0.0
    by_reaction: dict[str, float] = {}
    for kind in _REACTIONS:
        p = getattr(odds, kind)
        if p <= 0.0:
            continue
        weight = min(1.0, max(0.0, annoyance_weight(traits, action.action, kind)))
        after = annoyance + (1.0 - annoyance) * weight  # as ShopperState.annoy
        added += p * (after - annoyance)
        if kind == "accept":
            if action.action == "email_capture" and not shopper.email_signed_up:
                lead = p * LEAD_VALUE_EUR * EMAIL_CONSENT_RATE
            s2 = state.snapshot()
            accept_effects(action, offer, shopper.clone(), s2, now)
            value = expected_net_value(shopper, s2, catalogue, now, annoyance=after)
        else:
            leaving = True if kind == "leave" else None
            value = expected_net_value(shopper, state, catalogue, now, annoyance=after, leaving=leaving)
        by_reaction[kind] = value
        total += p * value
    cost = ANNOYANCE_COST_EUR * added
    return OracleBreakdown(
        action.action, total - baseline - cost + lead, odds, appeal_, baseline, by_reaction, cost, lead, pid
    )


def oracle_value(
    shopper: ShopperState,
    state: SessionState,
    action: Intervention | ActionType,
    catalogue: Catalogue,
    t: float | None = None,
) -> float:
    """Expected incremental value (EUR) of ``action`` now; ``none`` is 0 by definition.

    Args:
        shopper: the shopper's carried state (annoyance etc.).
        state: the session state at the moment of the decision.
        action: a concrete intervention, or an action type (then :func:`canonical_action` parameters).
        catalogue: the products.
        t: sim time of the decision (default: the state's latest time).
    """
    now = state.t if t is None else t
    chosen = action if isinstance(action, Intervention) else canonical_action(action, state.session_id, now)
    return oracle_breakdown(shopper, state, chosen, catalogue, now).value


def oracle_values(
    shopper: ShopperState, state: SessionState, catalogue: Catalogue, t: float | None = None
) -> dict[ActionType, float]:
    """The oracle value of every action type with canonical parameters."""
    now = state.t if t is None else t
    baseline = expected_net_value(shopper, state, catalogue, now)
    return {
        a: oracle_breakdown(
            shopper, state, canonical_action(a, state.session_id, now), catalogue, now, baseline=baseline
        ).value
        for a in ACTION_TYPES
    }


def best_action(values: dict[ActionType, float]) -> ActionType:
    """The action with the highest value (ties: the earlier in ``ACTION_TYPES``, so ``none`` wins ties)."""
    return max(ACTION_TYPES, key=lambda a: (values.get(a, float("-inf")), -ACTION_TYPES.index(a)))


def regret(values: dict[ActionType, float], chosen_value: float) -> float:
    """Best available value (the canonical actions or the chosen one) minus the chosen action's value.

    >>> regret({"none": 0.0, "discount": 3.5, "upsell": 1.0}, 1.0)
    2.5
    """
    return max(max(values.values(), default=0.0), chosen_value) - chosen_value
