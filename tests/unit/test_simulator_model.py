"""The pure model: catalogue, population, session mechanics, the wire mapping, fault labels and doctests."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest

from schemas.codec import EventDecoder
from schemas.decisions import Decision
from schemas.errors import PoisonMessageError
from simulator import (
    BadDecisionError,
    Catalogue,
    Intervention,
    Session,
    ShopperState,
    build_decision,
    decode_decision,
    encode_decision,
    make_population,
    run_tag,
)
from simulator.activity import Activity
from simulator.faults import corrupt
from simulator.records import DEAD_LETTER_REASONS
from simulator.wire import event_from_activity, intervention_from_decision, to_builtins

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_catalogue_is_seeded_and_well_formed() -> None:
    a = Catalogue.build(random.Random(3))
    b = Catalogue.build(random.Random(3))
    assert a.products == b.products
    assert len(a.products) == 500 and len(a.categories) == 12
    assert len({p.product_id for p in a.products}) == 500
    assert all(p.price > 0 and p.stock >= 0 for p in a.products)
    assert all(a.by_category[c] for c in a.categories)
    # frequently-bought-together is symmetric and never links a category to itself
    for (x, y), strength in a.complement_strength.items():
        assert x != y and 0 < strength <= 1 and a.complement(y, x) == strength
    assert all(a.complements_of(c) for c in a.categories)
    # prices follow the category medians
    books = [p.price for p in a.by_category["books"]]
    electronics = [p.price for p in a.by_category["electronics"]]
    assert np.median(electronics) > 4 * np.median(books)


def test_catalogue_beyond_the_default_categories() -> None:
    cat = Catalogue.build(random.Random(1), size=60, n_categories=15)
    assert cat.categories[-1] == "cat-15" and len(cat.products) == 60


def test_population_traits() -> None:
    tag = run_tag(9)
    pop = make_population(np.random.default_rng(1), 4000, 12, tag)
    again = make_population(np.random.default_rng(1), 4000, 12, tag)
    assert pop == again
    assert all(abs(sum(s.category_prefs) - 1.0) < 1e-9 for s in pop)
    groups = Counter(s.group for s in pop)
    assert 0.45 < groups["a"] / 4000 < 0.55
    logged_in = sum(s.logged_in for s in pop) / 4000
    assert 0.35 < logged_in < 0.45
    assert all(s.key == (s.user_id or s.anonymous_id) for s in pop)
    # the declared disparity: group b is more price sensitive
    sens = {g: np.mean([s.price_sensitivity for s in pop if s.group == g]) for g in "ab"}
    assert sens["b"] > sens["a"] + 0.05
    assert len({s.anonymous_id for s in pop}) == 4000


def _session(seed: int, **state: object) -> Session:
    cat = Catalogue.build(random.Random(2), size=120, n_categories=6)
    traits = make_population(np.random.default_rng(seed), 1, 6, "t")[0]
    shopper = ShopperState(traits, **state)  # type: ignore[arg-type]
    return Session(shopper, cat, f"s-{seed}", 0.0, rng=random.Random(seed), react_rng=random.Random(-seed))


def test_a_session_runs_to_its_end_with_ids_in_sequence() -> None:
    for seed in range(200):
        session = _session(seed)
        acts = []
        while session.peek() is not None:
            acts.append(session.pop())
        assert acts[-1].kind == "session_end"
        assert [a.event_id for a in acts] == [f"s-{seed}-{i:04d}" for i in range(len(acts))]
        assert [a.t for a in acts] == sorted(a.t for a in acts)
        assert session.state.ended
        if acts[-1].fields["reason"] == "timeout":
            assert acts[-1].t - acts[-2].t == pytest.approx(1800.0)


def test_sessions_produce_the_whole_funnel() -> None:
    kinds: Counter[str] = Counter()
    purchases = 0
    for seed in range(1500):
        session = _session(seed)
        while session.peek() is not None:
            kinds[session.pop().kind] += 1
        purchases += session.state.purchased
    assert kinds["product_view"] > kinds["add_to_cart"] > kinds["checkout_start"] > kinds["purchase"] > 0
    assert kinds["exit_intent"] > 0 and kinds["search"] > 0 and kinds["chat_message"] > 0
    assert 0.02 < purchases / 1500 < 0.2


def test_a_purchase_carries_line_items_discounts_and_the_decision() -> None:
    for seed in range(400):
        session = _session(seed)
        session.state.intent = 1.0
        reaction = session.react(Intervention("d-disc", f"s-{seed}", "discount", 0.0, discount_pct=20.0), 0.0)
        if reaction.kind != "accept":
            continue
        while session.peek() is not None:
            act = session.pop()
            if act.kind == "purchase":
                items = act.fields["items"]
                assert isinstance(items, tuple) and items
                gross = sum(line.gross for line in items)
                assert act.fields["discount_total"] == pytest.approx(0.2 * gross, abs=0.02 * len(items))
                assert act.fields["order_value"] == pytest.approx(gross - 0.2 * gross, abs=0.05)
                assert act.fields["decision_id"] == "d-disc"
                event = event_from_activity(act, START)
                assert EventDecoder().decode(orjson.dumps(to_builtins(event))) == event
                return
    pytest.fail("no purchase in 400 discounted sessions")


def test_none_is_not_shown_and_an_ended_session_cannot_react() -> None:
    session = _session(1)
    assert session.react(Intervention("d-0", "s-1", "none", 0.0), 0.0).kind == "none"
    while session.peek() is not None:
        session.pop()
    assert session.react(Intervention("d-1", "s-1", "upsell", 0.0), 10_000.0).kind == "expired"


def test_decisions_round_trip_through_the_wire() -> None:
    iv = Intervention(
        "d-9",
        "s-1",
        "cross_sell",
        12.5,
        user_id="u-1",
        anonymous_id="a-1",
        category="books",
        product_id="p00001",
    )
    decision = decode_decision(encode_decision(build_decision(iv, START)))
    assert isinstance(decision, Decision)
    assert intervention_from_decision(decision, START) == iv


@pytest.mark.parametrize("payload", [b"", b"[]", b'{"decision_id": 1}', b"\xff\xfe"])
def test_bad_decision_payloads_raise_one_error_type(payload: bytes) -> None:
    with pytest.raises(BadDecisionError):
        decode_decision(payload)


@pytest.mark.parametrize("reason", [r for r in DEAD_LETTER_REASONS if r != "clock_skew_future"])
@pytest.mark.parametrize("kind", ["page_view", "add_to_cart", "purchase", "session_end"])
def test_every_corruption_gives_its_reason_on_every_event_type(reason: str, kind: str) -> None:
    session = _session(3)
    act = session.pop()
    fields = {
        "page_view": {"page_type": "home", "url": "/", "category": None},
        "add_to_cart": {"product_id": "p1", "quantity": 2, "unit_price": 9.5, "category": "books"},
        "purchase": {
            "order_id": "o-1",
            "items": (),
            "order_value": 0.0,
            "currency": "EUR",
            "discount_total": 0.0,
            "decision_id": None,
        },
        "session_end": {"reason": "closed"},
    }[kind]
    event = event_from_activity(Activity(kind, 5.0, act.session_id, None, "a-1", "mobile", "e-1", fields), START)
    for seed in range(6):
        raw = corrupt(to_builtins(event), reason, random.Random(seed))
        with pytest.raises(PoisonMessageError) as caught:
            EventDecoder().decode(raw)
        assert caught.value.reason.value == reason
