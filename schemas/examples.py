"""One canonical, valid instance of every contract: for docs, fixtures, smoke tests and publishers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from schemas.catalogue import CatalogueItem
from schemas.concierge import ConciergeMessage, concierge_message_id
from schemas.decisions import Action, Decision, FeatureContribution, InterventionType, ScoredCandidate
from schemas.events import (
    AddToCart,
    ChatMessage,
    CheckoutStart,
    ConsentUpdate,
    EmailSignup,
    Event,
    ExitIntent,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    LineItem,
    PageView,
    ProductView,
    Purchase,
    RemoveFromCart,
    Search,
    SessionEnd,
    SurveyResponse,
)
from schemas.fields import CURRENT_SCHEMA_VERSION
from schemas.rewards import Reward, RewardComponent, reward_id_for

__all__ = [
    "EXAMPLE_TIME",
    "example_catalogue_item",
    "example_concierge_message",
    "example_decision",
    "example_events",
    "example_reward",
]

EXAMPLE_TIME: Final = datetime(2026, 11, 21, 10, 0, 0, 123000, tzinfo=UTC)


def example_events() -> dict[str, Event]:
    """One event of each type, by ``event_type``, all in session ``s-1`` of user ``u-1``.

    >>> from schemas.events import EVENT_TYPES
    >>> set(example_events()) == EVENT_TYPES
    True
    """
    v = CURRENT_SCHEMA_VERSION
    t = EXAMPLE_TIME
    events: list[Event] = [
        PageView(
            event_id="e-01",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            anonymous_id="a-1",
            device="mobile",
            page_type="home",
            url="https://shop.example/",
        ),
        ProductView(
            event_id="e-02",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            product_id="p-42",
            category="shoes",
            price=89.9,
        ),
        Search(
            event_id="e-03",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            query="trail running shoes",
            results_count=17,
        ),
        AddToCart(
            event_id="e-04",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            product_id="p-42",
            quantity=1,
            unit_price=89.9,
            category="shoes",
        ),
        RemoveFromCart(
            event_id="e-05",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            product_id="p-7",
            quantity=2,
        ),
        CheckoutStart(
            event_id="e-06",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            cart_value=89.9,
            item_count=1,
        ),
        Purchase(
            event_id="e-07",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            order_id="o-1",
            items=[LineItem(product_id="p-42", quantity=1, unit_price=89.9, category="shoes", discount=9.0)],
            order_value=80.9,
            discount_total=9.0,
            decision_id="d-1",
        ),
        ChatMessage(
            event_id="e-08",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            text="Gibt es die Schuhe auch in Größe 43?",
            message_id="m-1",
        ),
        EmailSignup(
            event_id="e-09",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            anonymous_id="a-1",
            email_hash="5f1a" * 16,
            consent_marketing=True,
        ),
        ConsentUpdate(
            event_id="e-09b",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            anonymous_id="a-1",
            personalisation=True,
        ),
        SurveyResponse(
            event_id="e-10",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            survey_id="csat-1",
            score=5,
            comment="Quick delivery",
            decision_id="d-1",
        ),
        SessionEnd(event_id="e-11", event_time=t, schema_version=v, session_id="s-1", user_id="u-1", reason="timeout"),
        ExitIntent(event_id="e-12", event_time=t, schema_version=v, session_id="s-1", user_id="u-1", page_type="cart"),
        InterventionImpression(
            event_id="e-13",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            decision_id="d-1",
            intervention_type="discount",
            product_id="p-42",
        ),
        InterventionClick(
            event_id="e-14",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            decision_id="d-1",
            intervention_type="discount",
            product_id="p-42",
        ),
        InterventionDismiss(
            event_id="e-15",
            event_time=t,
            schema_version=v,
            session_id="s-1",
            user_id="u-1",
            decision_id="d-1",
            intervention_type="discount",
        ),
    ]
    return {event.event_type: event for event in events}


def example_decision() -> Decision:
    """A discount decision with its candidates and explanation."""
    discount = Action(type=InterventionType.DISCOUNT, product_id="p-42", discount_pct=10.0)
    return Decision(
        decision_id="d-1",
        event_time=EXAMPLE_TIME,
        schema_version=CURRENT_SCHEMA_VERSION,
        user_id="u-1",
        session_id="s-1",
        trigger_event_id="e-12",
        trigger_event_type="exit_intent",
        action=discount,
        propensity=0.8,
        policy_name="linucb",
        policy_version="2026.11.1",
        policy_source="triton",
        candidates=[
            ScoredCandidate(action=discount, score=1.7, propensity=0.8),
            ScoredCandidate(action=Action(type=InterventionType.NONE), score=0.4, propensity=0.2),
        ],
        feature_hash="9c1e0f3a",
        feature_version="v3",
        guardrails=["max_discount_pct"],
        explanation=[FeatureContribution(name="cart_value", value=89.9, contribution=0.9)],
        attribution_window_s=1800,
        arm="treatment",
    )


def example_reward() -> Reward:
    """The final conversion reward of :func:`example_decision`."""
    return Reward(
        reward_id=reward_id_for("d-1", RewardComponent.CONVERSION, ["e-07"], final=True),
        decision_id="d-1",
        user_id="u-1",
        component=RewardComponent.CONVERSION,
        value=1.0,
        final=True,
        event_time=EXAMPLE_TIME,
        outcome_event_ids=["e-07"],
        policy_name="linucb",
        policy_version="2026.11.1",
        schema_version=CURRENT_SCHEMA_VERSION,
    )


def example_catalogue_item() -> CatalogueItem:
    """A product record as the platform publishes it on ``kairos.catalogue.v1``."""
    return CatalogueItem(
        product_id="p-42",
        updated_at=EXAMPLE_TIME,
        schema_version=CURRENT_SCHEMA_VERSION,
        title="Trail running shoe",
        category="sports",
        price=89.9,
        stock=12,
        description="Lightweight trail shoe with a grippy sole.",
    )


def example_concierge_message() -> ConciergeMessage:
    """The language model's reply to a concierge decision."""
    return ConciergeMessage(
        message_id=concierge_message_id("d-2", "lm"),
        decision_id="d-2",
        event_time=EXAMPLE_TIME,
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id="s-1",
        user_id="u-1",
        text="The Trail running shoe (p-42) grips well on wet paths.\nThis reply was written by an AI assistant.",
        source="lm",
        final=True,
        product_ids=["p-42"],
        route="product_question",
    )
