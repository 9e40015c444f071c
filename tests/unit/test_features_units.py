"""Unit tests of the streaming feature pieces on crafted sequences with exact expected values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import (
    AddToCart,
    ChatMessage,
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
    SessionEnd,
)
from streams.features import FeatureConfig, FeatureState, LexiconTextSignals, SlidingWindow, to_micros
from streams.features.session import SessionState
from streams.features.user import UserState

T0 = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
BASE = {"schema_version": 1, "session_id": "s1", "user_id": "u1"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def view(i: int, s: float, product: str = "p1", category: str | None = "books", price: float | None = 5.0) -> Event:
    return ProductView(event_id=f"v{i}", event_time=at(s), product_id=product, category=category, price=price, **BASE)  # type: ignore[arg-type]


def page(i: int, s: float) -> Event:
    return PageView(event_id=f"g{i}", event_time=at(s), page_type="home", **BASE)  # type: ignore[arg-type]


def add(i: int, s: float, product: str, qty: int, price: float) -> Event:
    return AddToCart(event_id=f"a{i}", event_time=at(s), product_id=product, quantity=qty, unit_price=price, **BASE)  # type: ignore[arg-type]


def remove(i: int, s: float, product: str, qty: int) -> Event:
    return RemoveFromCart(event_id=f"r{i}", event_time=at(s), product_id=product, quantity=qty, **BASE)  # type: ignore[arg-type]


def buy(i: int, s: float, value: float, *products: str) -> Event:
    products = products or ("p1",)
    items = [LineItem(product_id=p, quantity=1, unit_price=value / len(products)) for p in products]
    return Purchase(event_id=f"b{i}", event_time=at(s), order_id=f"o{i}", items=items, order_value=value, **BASE)  # type: ignore[arg-type]


def intervention(cls: type, i: int, s: float, kind: str = "discount") -> Event:
    return cls(event_id=f"i{cls.__name__}{i}", event_time=at(s), decision_id=f"d{i}", intervention_type=kind, **BASE)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("adds", "now", "expected"),
    [
        ([], 10, 0),
        ([1, 5, 9], 10, 3),
        ([1, 5, 9], 11, 2),  # (1, 11]: 1 left the window (half-open on the left)
        ([9, 1, 5], 15, 1),  # out-of-order inserts
        ([10, 10, 10], 10, 3),
        ([1, 5, 9], 0, 0),
    ],
)
def test_sliding_window_totals(adds: list[int], now: int, expected: int) -> None:
    window = SlidingWindow(span=10)
    for t in adds:
        window.add(t)
    assert window.total(now) == expected


def test_sliding_window_weights_and_prune() -> None:
    window = SlidingWindow(span=100)
    for t, w in ((50, 2), (10, 3), (30, 1)):
        window.add(t, w)
    assert window.total(60) == 6
    window.prune(before=30)
    assert len(window) == 1 and window.total(60) == 2


def test_to_micros_is_exact() -> None:
    assert to_micros(at(0.000001)) - to_micros(T0) == 1


def session_of(*events: Event) -> dict[str, object]:
    state = SessionState("s1")
    for e in events:
        state.update(e, to_micros(e.event_time), LexiconTextSignals())
    return state.row()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([page(1, 0)], {"events_so_far": 1, "dwell_s": 0.0, "idle_s": 0.0, "page_switches_30s": 1}),
        ([page(1, 0), view(2, 20), page(3, 45)], {"dwell_s": 45.0, "idle_s": 25.0, "page_switches_30s": 2}),
        ([page(3, 45), page(1, 0), view(2, 20)], {"dwell_s": 45.0, "idle_s": 25.0, "page_switches_30s": 2}),
        ([page(1, 0), page(2, 30)], {"page_switches_30s": 1}),  # 0 is not in (0, 30]
        ([view(1, 0, category="a"), view(2, 1, category="b"), view(3, 2, category="a")], {"categories_browsed": 2}),
        ([page(1, 0), ExitIntent(event_id="x", event_time=at(5), **BASE)], {"exit_intent": True}),  # type: ignore[arg-type]
        ([page(1, 5), ExitIntent(event_id="x", event_time=at(5), **BASE)], {"exit_intent": True}),  # type: ignore[arg-type]
        ([ExitIntent(event_id="x", event_time=at(5), **BASE), page(1, 6)], {"exit_intent": False}),  # type: ignore[arg-type]
        (
            [ExitIntent(event_id="x", event_time=at(5), **BASE), SessionEnd(event_id="e", event_time=at(9), **BASE)],  # type: ignore[arg-type]
            {"exit_intent": True, "events_so_far": 2},
        ),
        ([add(1, 0, "p1", 2, 10.0), add(2, 5, "p2", 1, 3.5)], {"cart_value": 23.5, "cart_size": 3}),
        ([add(1, 0, "p1", 2, 10.0), remove(2, 5, "p1", 1)], {"cart_value": 10.0, "cart_size": 1}),
        ([add(1, 0, "p1", 1, 10.0), remove(2, 5, "p1", 3)], {"cart_value": 0.0, "cart_size": 0}),
        ([add(1, 0, "p1", 1, 10.0), add(2, 9, "p1", 1, 12.0)], {"cart_value": 24.0, "cart_size": 2}),
        ([add(2, 9, "p1", 1, 12.0), add(1, 0, "p1", 1, 10.0)], {"cart_value": 24.0, "cart_size": 2}),
        ([add(1, 0, "p1", 1, 10.0), buy(1, 5, 10.0, "p1"), add(2, 9, "p2", 1, 4.0)], {"cart_value": 4.0}),
        ([add(2, 9, "p2", 1, 4.0), add(1, 0, "p1", 1, 10.0), buy(1, 5, 10.0, "p1")], {"cart_value": 4.0}),
    ],
)
def test_session_features(events: list[Event], expected: dict[str, object]) -> None:
    row = session_of(*events)
    assert {k: row[k] for k in expected} == expected


def test_session_latest_chat_wins_whatever_the_order() -> None:
    early = ChatMessage(event_id="c1", event_time=at(0), text="Where is my order?", **BASE)  # type: ignore[arg-type]
    late = ChatMessage(event_id="c2", event_time=at(9), text="Thanks, great discount", **BASE)  # type: ignore[arg-type]
    for events in ((early, late), (late, early)):
        row = session_of(*events)
        assert (row["last_sentiment"], row["last_intent"]) == (1.0, "discount")
    assert (session_of(page(1, 0))["last_sentiment"], session_of(page(1, 0))["last_intent"]) == (0.0, "")


@pytest.mark.parametrize(
    ("text", "sentiment", "intent"),
    [
        ("Where is my parcel? Tracking says nothing", 0.0, "order_status"),
        ("I want a refund, it arrived broken", -1.0, "order_status"),
        ("How do I return this?", 0.0, "returns"),
        ("Any coupon for me?", 0.0, "discount"),
        ("Is this available in other sizes?", 0.0, "product_question"),
        ("hello", 0.0, "other"),
        ("Annoying offer, so pushy", -1.0, "discount"),
    ],
)
def test_lexicon(text: str, sentiment: float, intent: str) -> None:
    signal = LexiconTextSignals().analyse(text)
    assert (signal.sentiment, signal.intent) == (sentiment, intent)


def user_of(events: list[Event], now: datetime) -> dict[str, object]:
    state = UserState()
    for e in events:
        state.update(e, to_micros(e.event_time), horizon=to_micros(now))
    return state.row(to_micros(now))


DAY = 86_400


@pytest.mark.parametrize(
    ("events", "now", "expected"),
    [
        ([], 0, {"frequency": 0, "recency_days": 0.0, "t_days": 0.0, "monetary": 0.0, "purchase_count": 0}),
        ([buy(1, 0, 10.0)], DAY / 2, {"frequency": 0, "t_days": 0.5, "monetary": 0.0, "average_order_value": 10.0}),
        # 23:00 and 23:30 on day 0 are one purchase day; 01:00 next day is a repeat day
        (
            [buy(1, 0, 10.0), buy(2, 1800, 20.0), buy(3, 7200, 60.0)],
            DAY,
            {"frequency": 1, "recency_days": 2 / 24, "t_days": 1.0, "monetary": 60.0, "purchase_count": 3},
        ),
        (
            [buy(3, 7200, 60.0), buy(4, 7300, 30.0), buy(1, 0, 10.0)],
            7300,
            {"frequency": 1, "monetary": 45.0, "average_order_value": 100 / 3},
        ),
        (
            [view(1, 0, category="a"), view(2, 1, category="b"), view(3, 2, category=None), view(4, 3, category="b")],
            3,
            {"top_category": "b", "category_affinity": 0.5},
        ),
        ([view(1, 0, category="b"), view(2, 1, category="a")], 3, {"top_category": "a", "category_affinity": 0.5}),
        (
            [
                intervention(InterventionImpression, 1, 0),
                intervention(InterventionImpression, 2, 10),
                intervention(InterventionImpression, 3, 20, kind="upsell"),
                intervention(InterventionClick, 1, 5),
                intervention(InterventionClick, 3, 25, kind="upsell"),
                intervention(InterventionDismiss, 2, 12),
            ],
            30,
            {"discount_responsiveness": 0.5, "interventions_seen_1d": 3, "interventions_dismissed_1d": 1},
        ),
        (
            [intervention(InterventionImpression, 1, 0), intervention(InterventionImpression, 2, 10)],
            DAY + 5,
            {"interventions_seen_1d": 1},  # the impression at 0 left the (now - 1 day, now] window
        ),
        (
            [
                EmailSignup(event_id="m2", event_time=at(9), email_hash="ab" * 16, consent_marketing=False, **BASE),  # type: ignore[arg-type]
                EmailSignup(event_id="m1", event_time=at(1), email_hash="ab" * 16, consent_marketing=True, **BASE),  # type: ignore[arg-type]
            ],
            9,
            {"consent_marketing": False},
        ),
    ],
)
def test_user_features(events: list[Event], now: float, expected: dict[str, object]) -> None:
    row = user_of(events, at(now))
    got = {k: row[k] for k in expected}
    assert got == pytest.approx(expected)


def test_product_and_routing() -> None:
    state = FeatureState(FeatureConfig(allowed_lateness_s=60))
    state.apply(view(1, 0, "p1", "books", 5.0))
    state.apply(view(2, 1800, "p1", None, None))
    changed = state.apply(buy(1, 1900, 30.0, "p1", "p2", "p3"))
    assert changed.product_ids == ("p1", "p2", "p3") and changed.user_key == "u1" and changed.session_id == "s1"
    state.apply(buy(2, 2000, 20.0, "p1", "p3"))
    state.apply(add(1, 2100, "p2", 1, 7.0))
    assert state.apply(page(1, 2200)).user_key is None
    row = state.product_row("p1", at(3700))
    assert row == {
        "price": 10.0,
        "category": "books",
        "views_1h": 1,
        "purchases_1h": 2,
        "conversion_rate_1h": 2.0,
        "co_purchased": ["p3", "p2"],
        "stock": -1,  # events know no stock: the product stage overlays the catalogue's
    }
    assert state.product_row("p2", at(3700))["price"] == 7.0  # type: ignore[index]
    assert state.product_row("nope", at(0)) is None and state.user_row("nope", at(0)) is None


def test_sessions_are_dropped_after_grace_or_idle() -> None:
    config = FeatureConfig(allowed_lateness_s=0, session_grace_s=60, session_idle_timeout_s=600, sweep_interval_s=1)
    state = FeatureState(config)
    state.apply(page(1, 0))
    state.apply(SessionEnd(event_id="e", event_time=at(10), **BASE))  # type: ignore[arg-type]
    other = {**BASE, "session_id": "s2"}
    state.apply(PageView(event_id="o1", event_time=at(20), page_type="home", **other))  # type: ignore[arg-type]
    assert set(state.session_ids(at(70))) == {"s1", "s2"}
    assert state.session_row("s1", at(71)) is None and set(state.session_ids(at(71))) == {"s2"}
    state.apply(PageView(event_id="o2", event_time=at(100), page_type="home", **other))  # type: ignore[arg-type]
    assert "s1" not in state._sessions  # physically dropped at the next sweep
    assert state.session_row("s2", at(700)) is not None and state.session_row("s2", at(701)) is None
