"""The one place that touches wire types: activities to ``schemas`` events, decisions to interventions.

Everything else in the simulator speaks the model's own terms (:class:`~simulator.activity.Activity`,
:class:`~simulator.activity.Intervention`), so a change in the contracts is absorbed here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final, cast

import msgspec

from schemas.catalogue import CatalogueItem
from schemas.codec import EventDecoder, StructDecoder, encode
from schemas.decisions import Action, Decision, InterventionType
from schemas.errors import PoisonMessageError
from schemas.events import EVENT_CLASSES, Event, LineItem
from schemas.fields import CURRENT_SCHEMA_VERSION
from simulator.activity import ACTION_TYPES, Activity, CartLine, Intervention
from simulator.catalogue import Catalogue
from simulator.errors import BadDecisionError

__all__ = [
    "build_decision",
    "catalogue_records",
    "decode_decision",
    "decode_event",
    "encode_decision",
    "encode_event",
    "event_from_activity",
    "event_time",
    "intervention_from_decision",
    "sim_seconds",
    "to_builtins",
]

_DECISION_DECODER: Final = StructDecoder(Decision)
_EVENT_DECODER: Final = EventDecoder()


def event_time(start_time: datetime, t: float) -> datetime:
    """The event time of sim time ``t`` (microsecond precision, as the wire carries it)."""
    return start_time + timedelta(microseconds=round(t * 1e6))


def sim_seconds(start_time: datetime, when: datetime) -> float:
    """Sim seconds of an event time."""
    return (when - start_time).total_seconds()


def event_from_activity(act: Activity, start_time: datetime) -> Event:
    """Build the ``schemas`` event for an activity.

    Raises:
        KeyError: the activity kind is not an event type of this schemas build.
    """
    cls = EVENT_CLASSES[act.kind]
    fields: dict[str, Any] = dict(act.fields)
    items = fields.get("items")
    if isinstance(items, tuple):
        fields["items"] = [_line_item(line) for line in items]
    return cls(
        event_id=act.event_id,
        event_time=event_time(start_time, act.t),
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id=act.session_id,
        user_id=act.user_id,
        anonymous_id=act.anonymous_id,
        device=act.device,
        **fields,
    )


def encode_event(event: Event) -> bytes:
    """The record value for an event (``schemas.codec.encode``: orjson)."""
    return encode(event)


def to_builtins(event: Event) -> dict[str, Any]:
    """An event as a plain JSON-ready dict (tag included), for building deliberately broken records."""
    return cast(dict[str, Any], msgspec.to_builtins(event))


def decode_event(raw: bytes) -> Event:
    """Decode an event record with the ingest decoder (tests and tooling).

    Raises:
        PoisonMessageError: the record would be dead-lettered; ``reason`` says why.
    """
    return _EVENT_DECODER.decode(raw)


def _line_item(line: CartLine) -> LineItem:
    return LineItem(
        product_id=line.product_id,
        quantity=line.quantity,
        unit_price=line.unit_price,
        category=line.category,
        discount=line.discount,
    )


def decode_decision(raw: bytes) -> Decision:
    """Decode a record from the interventions topic.

    Raises:
        BadDecisionError: the payload is not a valid decision.
    """
    try:
        return _DECISION_DECODER.decode(raw)
    except PoisonMessageError as exc:
        raise BadDecisionError(f"undecodable decision ({exc.reason.value}): {exc.detail}") from exc


def intervention_from_decision(decision: Decision, start_time: datetime) -> Intervention:
    """The shopper-side view of a decision; ``t`` is its event time in sim seconds.

    Raises:
        BadDecisionError: the action type is unknown to the simulator.
    """
    action = decision.action
    kind = str(action.type.value)
    if kind not in ACTION_TYPES:
        raise BadDecisionError(f"decision {decision.decision_id}: unknown action type {kind!r}")
    return Intervention(
        decision_id=decision.decision_id,
        session_id=decision.session_id,
        action=kind,
        t=sim_seconds(start_time, decision.event_time),
        user_id=decision.user_id,
        anonymous_id=decision.anonymous_id,
        product_id=action.product_id,
        category=action.category,
        discount_pct=action.discount_pct,
        message=action.message,
    )


def build_decision(
    intervention: Intervention,
    start_time: datetime,
    *,
    trigger_event_id: str = "trigger",
    trigger_event_type: str = "page_view",
    propensity: float = 1.0,
    policy_name: str = "simulator-test",
) -> Decision:
    """A ``schemas`` decision carrying ``intervention`` (for tests and fake engines)."""
    return Decision(
        decision_id=intervention.decision_id,
        event_time=event_time(start_time, intervention.t),
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id=intervention.session_id,
        trigger_event_id=trigger_event_id,
        trigger_event_type=trigger_event_type,
        action=Action(
            type=InterventionType(intervention.action),
            product_id=intervention.product_id,
            category=intervention.category,
            discount_pct=intervention.discount_pct,
            message=intervention.message,
        ),
        propensity=propensity,
        policy_name=policy_name,
        policy_version="1",
        policy_source="rules",
        attribution_window_s=3600,
        user_id=intervention.user_id,
        anonymous_id=intervention.anonymous_id,
    )


def encode_decision(decision: Decision) -> bytes:
    """The record value for a decision."""
    return encode(decision)


def catalogue_records(catalogue: Catalogue, at: datetime) -> list[tuple[bytes, bytes]]:
    """The catalogue as ``kairos.catalogue.v1`` records (key = product id, value = a ``CatalogueItem``) at ``at``."""
    records = []
    for product in catalogue.products:
        item = CatalogueItem(
            product_id=product.product_id,
            updated_at=at,
            schema_version=CURRENT_SCHEMA_VERSION,
            title=product.name,
            category=product.category,
            price=product.price,
            stock=product.stock,
            description=f"{product.name}: a {product.category} product.",
        )
        records.append((item.partition_key, encode(item)))
    return records
