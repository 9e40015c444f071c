"""The models learn what synthetic streams teach them, and honour delayed labels and their memory bounds."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from serving.models import (
    AbandonmentModel,
    ImpressionLedger,
    OfferAcceptanceModel,
    OpenImpression,
    PurchasePropensityModel,
    SegmentModel,
)

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_abandonment_learns_cart_and_checkout_signal() -> None:
    rng, model = random.Random(42), AbandonmentModel()
    for i in range(3000):
        cart = rng.random() < 0.4
        checkout = cart and rng.random() < 0.5
        row = {
            "events_so_far": rng.randint(1, 30),
            "dwell_s": rng.uniform(0, 600),
            "cart_value": rng.uniform(10, 200) if cart else 0.0,
            "cart_size": rng.randint(1, 4) if cart else 0,
            "checkout_started": checkout,
            "exit_intent": rng.random() < 0.3,
            "purchase_count": rng.randint(0, 3),
        }
        p_purchase = 0.75 if checkout else 0.25 if cart else 0.04
        model.predict_proba_one(f"s{i}", row, T0 + timedelta(seconds=i))
        model.label(f"s{i}", purchased=rng.random() < p_purchase)
    assert model.metrics()["roc_auc"] > 0.75
    t = T0 + timedelta(seconds=4000)
    checkout_p = model.predict_proba_one("x", {"cart_value": 80.0, "cart_size": 2, "checkout_started": True}, t)
    browse_p = model.predict_proba_one("y", {"cart_value": 0.0, "cart_size": 0, "checkout_started": False}, t)
    assert checkout_p < 0.5 < browse_p


def test_propensity_learns_from_user_history_at_session_start() -> None:
    rng, model = random.Random(4), PurchasePropensityModel()
    for i in range(3000):
        orders = rng.randint(0, 10)
        model.predict_proba_one(f"s{i}", {"purchase_count": orders}, T0 + timedelta(seconds=i))
        # later events of the session carry other rows; the first snapshot is the one learned from
        model.predict_proba_one(f"s{i}", {"purchase_count": 0}, T0 + timedelta(seconds=i))
        model.label(f"s{i}", purchased=rng.random() < _sigmoid(-3 + 0.5 * orders))
    assert model.metrics()["roc_auc"] > 0.7


def test_offer_acceptance_learns_user_category_taste() -> None:
    rng, model = random.Random(9), OfferAcceptanceModel(seed=9)
    likes = {f"u{u}": (u % 3, (u + 1) % 3) for u in range(60)}  # (always accepts, never accepts) category
    for _ in range(6000):
        user = f"u{rng.randrange(60)}"
        category = rng.randrange(3)
        item = f"c{category}-p{rng.randrange(10)}"
        liked, disliked = likes[user]
        accepted = rng.random() < (0.95 if category == liked else 0.02 if category == disliked else 0.3)
        model.learn_one(user, item, accepted)
    assert model.metrics()["roc_auc"] > 0.68
    assert model.predict_proba_one("u0", "c0-p1") > model.predict_proba_one("u0", "c1-p1")


def test_offer_prediction_does_not_grow_the_model() -> None:
    model = OfferAcceptanceModel(seed=1)
    model.learn_one("u1", "p1", accepted=True)
    model.predict_proba_one("stranger", "unknown-item")
    assert model.metrics()["users"] == 1.0
    assert model.metrics()["items"] == 1.0


def test_segments_separate_distinct_users() -> None:
    rng = random.Random(2)
    groups = [(0, 0.0), (25, 400.0), (6, 60.0)]
    model = SegmentModel(n_clusters=3, seed=2)
    for i in range(900):
        orders, value = groups[i % 3]
        model.learn_one({"purchase_count": orders + rng.randint(0, 1), "monetary": value * rng.uniform(0.9, 1.1)})
    assert len({model.predict_one({"purchase_count": o, "monetary": v}) for o, v in groups}) == 3


def test_label_scores_the_served_prediction_before_learning() -> None:
    model = AbandonmentModel()
    served = model.predict_proba_one("s1", {"cart_value": 10.0}, T0)
    assert model.label("s1", purchased=False) == served
    assert model.label("s1", purchased=False) is None  # labelled once
    assert model.label("never-seen", purchased=True) is None
    assert model.metrics()["labels"] == 1.0


def test_pending_sessions_are_bounded_oldest_evicted() -> None:
    model = AbandonmentModel(max_pending=3)
    for i in range(5):
        model.predict_proba_one(f"s{i}", {"events_so_far": i}, T0 + timedelta(seconds=i))
    model.predict_proba_one("s2", {"events_so_far": 9}, T0 + timedelta(seconds=6))  # refreshes s2
    model.predict_proba_one("s5", {"events_so_far": 9}, T0 + timedelta(seconds=7))  # evicts s3, the least recent
    assert model.metrics()["pending"] == 3.0
    assert model.metrics()["evicted"] == 3.0
    assert model.label("s3", purchased=True) is None
    assert model.label("s2", purchased=True) is not None


def test_pending_sessions_expire_by_event_time() -> None:
    model = AbandonmentModel(max_age=timedelta(minutes=30))
    model.predict_proba_one("old", {}, T0)
    model.predict_proba_one("new", {}, T0 + timedelta(hours=1))
    assert model.label("old", purchased=False) is None
    assert model.metrics()["evicted"] == 1.0


def test_ledger_resolves_each_impression_once() -> None:
    ledger = ImpressionLedger(max_open=2, max_age=timedelta(minutes=10))
    assert ledger.open("d1", OpenImpression("u1", "p1", "s1", "p1", T0)) == []
    assert ledger.open("d2", OpenImpression("u1", "type:discount", "s1", None, T0)) == []
    evicted = ledger.open("d3", OpenImpression("u2", "p2", "s2", "p2", T0 + timedelta(seconds=1)))
    assert [(o.user, o.item, o.accepted) for o in evicted] == [("u1", "p1", False)]
    assert ledger.resolve("d1", accepted=True) is None
    click = ledger.resolve("d2", accepted=True)
    assert click is not None and click.accepted
    assert ledger.close_session("s1") == []
    aged = ledger.open("d4", OpenImpression("u3", "p3", "s3", "p3", T0 + timedelta(hours=1)))
    assert [(o.item, o.accepted) for o in aged] == [("p2", False)]
    assert ledger.expired == 2
    assert len(ledger) == 1
