"""A fixed rule policy for simulator tests: a 10% discount at exit intent, an upsell after an add to cart."""

from __future__ import annotations

from schemas.events import Event
from simulator import Intervention, SimRecord, Simulation, build_decision

RULE_TRIGGERS = ("exit_intent", "add_to_cart")


def apply_rule(sim: Simulation, record: SimRecord, event: Event, n: int) -> None:
    """Send the simulation the rule's decision ``d-<n>`` for ``event`` (a trigger, see :data:`RULE_TRIGGERS`)."""
    action = "discount" if event.event_type == "exit_intent" else "upsell"
    iv = Intervention(
        decision_id=f"d-{n}",
        session_id=event.session_id,
        action=action,
        t=record.sim_time,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        discount_pct=10.0 if action == "discount" else None,
    )
    sim.apply_intervention(build_decision(iv, sim.start_time, trigger_event_id=event.event_id), sim.now)
