"""How a shopper responds to an intervention: impression, then accept, ignore, dismiss or leave."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from simulator.activity import ActionType, CartLine, FieldValue, Intervention
from simulator.behaviour import (
    DEFAULT_DISCOUNT_PCT,
    EMAIL_CONSENT_RATE,
    OFFER_TTL_S,
    ReactionOdds,
    annoyance_weight,
    appeal,
    reaction_odds,
    resolve_offer,
)
from simulator.catalogue import Catalogue, Product
from simulator.shopper import SavedOffer, ShopperState
from simulator.state import SessionState
from simulator.text import concierge_reply, email_hash

__all__ = ["Outcome", "PlannedActivity", "Reaction", "ReactionPlan", "accept_effects", "plan_reaction"]

Outcome: TypeAlias = Literal["accept", "ignore", "dismiss", "leave", "none", "expired"]
PlannedActivity: TypeAlias = tuple[str, float, dict[str, FieldValue]]


@dataclass(frozen=True, slots=True)
class Reaction:
    """What the shopper did with one intervention.

    Attributes:
        decision_id: the decision shown.
        session_id: its session.
        action: the intervention type.
        kind: ``accept``, ``ignore``, ``dismiss``, ``leave``; ``none`` when the action was ``none``
            (nothing is shown); ``expired`` when the session had already ended.
        t: sim time of the impression (or of the attempt).
        odds: the reaction probabilities the draw used.
        appeal: acceptance probability before annoyance.
        annoyance_before: annoyance when shown.
        annoyance_added: increase caused by this intervention.
        product_id: the product offered (upsell, cross-sell), if any.
    """

    decision_id: str
    session_id: str
    action: ActionType
    kind: Outcome
    t: float
    odds: ReactionOdds | None = None
    appeal: float = 0.0
    annoyance_before: float = 0.0
    annoyance_added: float = 0.0
    product_id: str | None = None


@dataclass(slots=True)
class ReactionPlan:
    """A reaction and the activities it makes the session emit."""

    reaction: Reaction
    activities: list[PlannedActivity] = field(default_factory=list)


def accept_effects(
    intervention: Intervention, offer: Product | None, shopper: ShopperState, state: SessionState, t: float
) -> None:
    """Apply an accepted intervention to session and shopper state (deterministic; the oracle reuses it)."""
    action, did = intervention.action, intervention.decision_id
    if state.leaving and action != "email_capture":
        state.leaving = False
        state.steps_left = max(state.steps_left, 2)
        state.phase = "browse"
    if action in ("upsell", "cross_sell") and offer is not None:
        state.cart[offer.product_id] = CartLine(offer.product_id, 1, offer.price, offer.category)
        state.intent += (0.15 if action == "upsell" else 0.1) * (1.0 - state.intent)
        state.offer_accepted, state.offer_decision_id = True, did
    elif action == "discount":
        pct = intervention.discount_pct if intervention.discount_pct is not None else DEFAULT_DISCOUNT_PCT
        state.discount_pct = max(state.discount_pct, pct)
        state.offer_accepted, state.offer_decision_id = True, did
        shopper.offer = SavedOffer(did, state.discount_pct, t + OFFER_TTL_S)
    elif action == "checkout_nudge":
        if state.cart and state.phase == "browse":
            state.steps_left, state.nudged = 0, True
        state.offer_decision_id = did
    elif action == "email_capture":
        shopper.email_signed_up = True
    elif action == "concierge_message":
        state.intent += (0.25 if state.asked_question else 0.1) * (1.0 - state.intent)
        state.engaged, state.offer_accepted, state.offer_decision_id = True, True, did


def plan_reaction(
    intervention: Intervention,
    shopper: ShopperState,
    state: SessionState,
    catalogue: Catalogue,
    t0: float,
    *,
    rng: random.Random,
) -> ReactionPlan:
    """Draw the reaction at ``t0``, update annoyance and state, and list the activities that follow."""
    base = Reaction(intervention.decision_id, state.session_id, intervention.action, "none", t0)
    if state.ended:
        return ReactionPlan(replace(base, kind="expired"))
    if intervention.action == "none":
        return ReactionPlan(base)
    traits = shopper.traits
    offer = resolve_offer(intervention, traits, state, catalogue)
    annoyance = shopper.annoyance_now(t0)
    appeal_ = appeal(intervention, shopper, state, catalogue, offer)
    odds = reaction_odds(intervention.action, annoyance, appeal_, state.leaving)
    kind = odds.draw(rng.random())
    t_imp = t0 + rng.uniform(0.2, 1.5)
    added = shopper.annoy(t_imp, annoyance_weight(traits, intervention.action, kind))
    state.decisions.append(intervention.decision_id)
    pid = offer.product_id if offer is not None else intervention.product_id
    ref: dict[str, FieldValue] = {
        "decision_id": intervention.decision_id,
        "intervention_type": intervention.action,
        "product_id": pid,
    }
    acts: list[PlannedActivity] = [("intervention_impression", t_imp, dict(ref))]
    if kind == "accept":
        t_click = t_imp + rng.uniform(1.0, 6.0)
        acts.append(("intervention_click", t_click, dict(ref)))
        accept_effects(intervention, offer, shopper, state, t_click)
        reply_id = f"{state.session_id}-c{len(state.decisions)}"
        acts.extend(_accept_activities(intervention, offer, shopper, t_click, rng=rng, reply_id=reply_id))
    elif kind == "dismiss":
        acts.append(("intervention_dismiss", t_imp + rng.uniform(0.5, 4.0), dict(ref)))
    elif kind == "leave":
        t_last = t_imp
        if rng.random() < 0.5:
            t_last = t_imp + rng.uniform(0.5, 2.0)
            acts.append(("intervention_dismiss", t_last, dict(ref)))
        state.leaving, state.leave_at, state.leave_reason = True, t_last + rng.uniform(1.0, 5.0), "closed"
    reaction = Reaction(
        decision_id=intervention.decision_id,
        session_id=state.session_id,
        action=intervention.action,
        kind=kind,
        t=t_imp,
        odds=odds,
        appeal=appeal_,
        annoyance_before=annoyance,
        annoyance_added=added,
        product_id=pid,
    )
    return ReactionPlan(reaction, acts)


def _accept_activities(
    intervention: Intervention,
    offer: Product | None,
    shopper: ShopperState,
    t: float,
    *,
    rng: random.Random,
    reply_id: str,
) -> list[PlannedActivity]:
    action = intervention.action
    if action in ("upsell", "cross_sell") and offer is not None:
        fields: dict[str, FieldValue] = {
            "product_id": offer.product_id,
            "quantity": 1,
            "unit_price": offer.price,
            "category": offer.category,
        }
        return [("add_to_cart", t + rng.uniform(1.0, 4.0), fields)]
    if action == "email_capture":
        signup: dict[str, FieldValue] = {
            "email_hash": email_hash(shopper.traits.anonymous_id),
            "consent_marketing": rng.random() < EMAIL_CONSENT_RATE,
        }
        return [("email_signup", t + rng.uniform(3.0, 15.0), signup)]
    if action == "concierge_message":
        message: dict[str, FieldValue] = {
            "text": concierge_reply(rng),
            "message_id": reply_id,
        }
        return [("chat_message", t + rng.uniform(5.0, 20.0), message)]
    return []
