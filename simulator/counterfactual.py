"""Counterfactual rollouts: play a session to its end under an action, to check the oracle."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator.activity import Intervention
from simulator.behaviour import ANNOYANCE_COST_EUR, LEAD_VALUE_EUR
from simulator.session import Session
from simulator.shopper import derive_seed

__all__ = ["RolloutResult", "rollout"]

_MAX_ACTIVITIES = 10_000


@dataclass(frozen=True, slots=True)
class RolloutResult:
    """What one rollout realised, in the oracle's units.

    ``value`` = net revenue of the session chain - ``ANNOYANCE_COST_EUR`` * annoyance added by the
    intervention + ``LEAD_VALUE_EUR`` if the intervention's email capture was accepted with marketing consent.
    """

    value: float
    revenue: float
    reaction: str
    annoyance_added: float
    lead: bool
    purchased: bool


def rollout(
    session: Session, intervention: Intervention | None, t: float, seed: int | str, *, resample: bool = True
) -> RolloutResult:
    """Fork ``session`` (the original is untouched), show ``intervention`` at ``t``, run to the end.

    The chain's return-to-buy visit, if the shopper schedules one, is played too (with no time limit).

    Args:
        session: the session at the decision moment.
        intervention: the action, or ``None`` for no action.
        t: the decision's sim time.
        seed: the fork's seed; use the same seeds across actions for common random numbers.
        resample: redraw the checkout draw ``u_buy`` given what failed checkouts revealed, so that the rollout
            has the oracle's information (``False`` keeps the session's own draw: the hindsight outcome).
    """
    fork = session.fork(seed)
    if resample:
        floor = fork.state.u_floor
        fork.state.u_buy = floor + (1.0 - floor) * fork.rng.random()
        fork.replan(t)
    reaction_kind, added, lead = "none", 0.0, False
    if intervention is not None and intervention.action != "none":
        reaction = fork.react(intervention, t)
        reaction_kind, added = reaction.kind, reaction.annoyance_added
    revenue, purchased = 0.0, False
    current: Session | None = fork
    hops = 0
    while current is not None:
        for _ in range(_MAX_ACTIVITIES):
            if current.peek() is None:
                break
            act = current.pop()
            if act.kind == "purchase":
                value = act.fields["order_value"]
                revenue += float(value) if isinstance(value, int | float) else 0.0
                purchased = True
            elif act.kind == "email_signup" and intervention is not None and reaction_kind == "accept":
                lead = lead or (intervention.action == "email_capture" and act.fields["consent_marketing"] is True)
        nxt = current.next_visit
        current = None
        if nxt is not None and nxt.kind == "return_to_buy" and hops == 0:
            hops += 1
            sid = f"{fork.state.session_id}-r"
            current = Session(
                fork.shopper,
                fork.catalogue,
                sid,
                nxt.t,
                rng=random.Random(derive_seed(0, seed, sid, "browse")),
                react_rng=random.Random(derive_seed(0, seed, sid, "react")),
                kind="return_to_buy",
                intent=nxt.intent,
            )
    value = revenue - ANNOYANCE_COST_EUR * added + (LEAD_VALUE_EUR if lead else 0.0)
    return RolloutResult(value, revenue, reaction_kind, added, lead, purchased)
