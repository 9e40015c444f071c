"""Point-in-time correctness: streaming feature rows equal an independent batch recomputation at ~20 instants."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from schemas.codec import EventDecoder
from schemas.events import (
    AddToCart,
    EmailSignup,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    LineItem,
    ProductView,
    Purchase,
    RemoveFromCart,
)
from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES, FeatureSpec
from simulator import Simulation, SimulationConfig
from streams.features import FeatureConfig, FeatureState, LexiconTextSignals
from tests.unit import feature_reference as ref

START = datetime(2025, 3, 1, 22, 30, tzinfo=UTC)  # the run crosses midnight: purchases on two days
CONFIG = FeatureConfig()
Rows = dict[str, dict[str, object]]


def _ident(e: Event) -> dict[str, object]:
    return {"session_id": e.session_id, "user_id": e.user_id, "anonymous_id": e.anonymous_id, "schema_version": 1}


def _synthetic(events: list[Event], rng: random.Random) -> list[Event]:
    """Interventions, e-mail signups, removals and earlier purchases the simulator does not emit (yet)."""
    sessions: dict[str, list[Event]] = {}
    for e in events:
        sessions.setdefault(e.session_id, []).append(e)
    catalogue = sorted({(e.product_id, e.category, e.price) for e in events if isinstance(e, ProductView)})
    ids = sorted(sessions)
    out: list[Event] = []
    n = 0

    def at(s: list[Event]) -> datetime:
        lo, hi = s[0].event_time, s[-1].event_time
        return lo + (hi - lo) * rng.random()

    for sid in rng.sample(ids, 60):
        s = sessions[sid]
        for _ in range(rng.randint(1, 3)):
            n += 1
            t = at(s)
            kind = rng.choice(("discount", "discount", "upsell", "cross_sell"))
            common = {**_ident(s[0]), "decision_id": f"d{n}", "intervention_type": kind}
            out.append(InterventionImpression(event_id=f"x-imp-{n}", event_time=t, **common))  # type: ignore[arg-type]
            if rng.random() < 0.5:
                out.append(InterventionClick(event_id=f"x-clk-{n}", event_time=t + timedelta(seconds=5), **common))  # type: ignore[arg-type]
            elif rng.random() < 0.6:
                out.append(InterventionDismiss(event_id=f"x-dis-{n}", event_time=t + timedelta(seconds=4), **common))  # type: ignore[arg-type]
    for sid in rng.sample(ids, 30):
        s = sessions[sid]
        for _ in range(rng.randint(1, 2)):
            n += 1
            out.append(
                EmailSignup(
                    event_id=f"x-sig-{n}", event_time=at(s), email_hash="ab" * 16,
                    consent_marketing=rng.random() < 0.6, **_ident(s[0]),  # type: ignore[arg-type]
                )
            )  # fmt: skip
    for e in [e for e in events if isinstance(e, AddToCart)][::4]:
        n += 1
        out.append(
            RemoveFromCart(
                event_id=f"x-rm-{n}", event_time=e.event_time + timedelta(seconds=3), product_id=e.product_id,
                quantity=1, **_ident(e),  # type: ignore[arg-type]
            )
        )  # fmt: skip
    buyers = rng.sample(ids, 25)
    for k, sid in enumerate(buyers):
        s = sessions[sid]
        for day in rng.sample((1, 2, 3), rng.randint(1, 3)) + ([0] if k % 3 == 0 else []):
            n += 1
            t = (START - timedelta(days=day, hours=rng.random() * 5)) if day else at(s)
            picks = rng.sample(catalogue, rng.randint(1, 3))
            items = [LineItem(product_id=p, quantity=rng.randint(1, 2), unit_price=price or 1.0, category=c)
                     for p, c, price in picks]  # fmt: skip
            ident = {**_ident(s[0]), "session_id": f"h-{sid}-{day}"} if day else _ident(s[0])
            value = round(sum(i.quantity * i.unit_price for i in items), 2)
            out.append(
                Purchase(event_id=f"x-buy-{n}", event_time=t, order_id=f"o-x-{n}", items=items, order_value=value,
                         **ident)  # type: ignore[arg-type]
            )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def log() -> list[Event]:
    """The simulator's valid events plus the synthetic ones, in event-time order."""
    sim = Simulation(SimulationConfig(shoppers=300, duration_s=3 * 3600, seed=5, start_time=START))
    decoder = EventDecoder()
    events = [decoder.decode(r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    events += _synthetic(events, random.Random(7))
    return sorted(events, key=lambda e: (e.event_time, e.event_id))


@pytest.fixture(scope="module")
def frames(log: list[Event]) -> ref.Frames:
    return ref.frames_of(log)


def _signals(text: str) -> tuple[float, str]:
    signal = LexiconTextSignals().analyse(text)
    return signal.sentiment, signal.intent


def _online(state: FeatureState, now: datetime) -> tuple[Rows, Rows, Rows]:
    sessions = {sid: state.session_row(sid, now) for sid in state.session_ids(now)}
    users = {key: state.user_row(key, now) for key in state.user_keys()}
    products = {pid: state.product_row(pid, now) for pid in state.product_ids()}
    return sessions, users, products  # type: ignore[return-value]


def _batch(frames: ref.Frames, now: datetime) -> tuple[Rows, Rows, Rows]:
    return (
        ref.session_rows(frames, now, _signals, CONFIG.session_grace_s, CONFIG.session_idle_timeout_s),
        ref.user_rows(frames, now),
        ref.product_rows(frames, now),
    )


def _assert_same(online: Rows, batch: Rows, what: str) -> None:
    assert sorted(online) == sorted(batch), what
    for key, row in online.items():
        expected = batch[key]
        assert list(row) == list(expected), (what, key)
        for name, value in row.items():
            if isinstance(value, float):
                assert value == pytest.approx(expected[name], rel=1e-9, abs=1e-9), (what, key, name)
            else:
                assert value == expected[name], (what, key, name)


def _checkpoints(log: list[Event]) -> list[datetime]:
    end = log[-1].event_time
    history = [START - timedelta(days=d, hours=2) for d in (2, 1)] + [START - timedelta(hours=1)]
    return history + [START + (end - START) * (i / 16) for i in range(1, 17)] + [end]


def _types_match(row: dict[str, object], specs: tuple[FeatureSpec, ...]) -> bool:
    python = {"int64": int, "float64": float, "bool": bool, "string": str, "string_list": list}
    return [s.name for s in specs] == list(row) and all(type(row[s.name]) is python[s.dtype] for s in specs)


def test_online_rows_match_the_batch_reference_at_every_checkpoint(log: list[Event], frames: ref.Frames) -> None:
    state = FeatureState(CONFIG)
    i = 0
    seen: list[tuple[Rows, Rows, Rows]] = []
    for now in _checkpoints(log):
        while i < len(log) and log[i].event_time <= now:
            assert not state.apply(log[i]).late
            i += 1
        online = _online(state, now)
        batch = _batch(frames, now)
        for kind, a, b in zip(("session", "user", "product"), online, batch, strict=True):
            _assert_same(a, b, f"{kind} at {now.isoformat()}")
        seen.append(online)
    assert i == len(log)

    sessions = [r for s, _, _ in seen for r in s.values()]
    users = [r for _, u, _ in seen for r in u.values()]
    products = [r for _, _, p in seen for r in p.values()]
    assert all(_types_match(r, SESSION_FEATURES) for r in sessions)
    assert all(_types_match(r, USER_FEATURES) for r in users)
    assert all(_types_match(r, PRODUCT_FEATURES) for r in products)

    def some(rows: list[dict[str, object]], test: Callable[[dict[str, object]], bool]) -> bool:
        return any(test(r) for r in rows)

    assert some(users, lambda r: r["frequency"] >= 1 and r["monetary"] > 0)  # type: ignore[operator]
    assert some(users, lambda r: r["interventions_seen_1d"] > 0)  # type: ignore[operator]
    assert some(users, lambda r: r["interventions_dismissed_1d"] > 0)  # type: ignore[operator]
    assert some(users, lambda r: 0 < r["discount_responsiveness"] < 1)  # type: ignore[operator]
    assert some(users, lambda r: r["consent_marketing"] is True)
    assert some(users, lambda r: r["top_category"] != "" and 0 < r["category_affinity"] < 1)  # type: ignore[operator]
    assert some(sessions, lambda r: r["cart_value"] > 0 and r["cart_size"] > 0)  # type: ignore[operator]
    assert some(sessions, lambda r: r["exit_intent"] is True)
    assert some(sessions, lambda r: r["checkout_started"] is True)
    assert some(sessions, lambda r: r["last_intent"] not in ("", "other") and r["last_sentiment"] == 0.0)
    assert some(sessions, lambda r: r["last_sentiment"] != 0.0)
    assert some(sessions, lambda r: r["page_switches_30s"] > 1 and r["categories_browsed"] > 1)  # type: ignore[operator]
    assert some(products, lambda r: r["co_purchased"] != [] and r["purchases_1h"] > 0)  # type: ignore[operator]
    assert some(products, lambda r: r["conversion_rate_1h"] > 0)  # type: ignore[operator]


def test_out_of_order_within_the_lateness_gives_the_same_rows(log: list[Event], frames: ref.Frames) -> None:
    rng = random.Random(11)
    lateness = CONFIG.allowed_lateness_s
    arrival = sorted(log, key=lambda e: e.event_time + timedelta(seconds=rng.uniform(0, 0.9 * lateness)))
    assert arrival != log
    in_order, shuffled = FeatureState(CONFIG), FeatureState(CONFIG)
    for e in log:
        in_order.apply(e)
    assert not any(shuffled.apply(e).late for e in arrival)
    now = log[-1].event_time
    expected = _online(in_order, now)
    for kind, a, b in zip(("session", "user", "product"), _online(shuffled, now), expected, strict=True):
        _assert_same(a, b, kind)
    for kind, a, b in zip(("session", "user", "product"), expected, _batch(frames, now), strict=True):
        _assert_same(a, b, kind)


def test_too_late_events_are_reported_and_not_applied(log: list[Event]) -> None:
    state = FeatureState(CONFIG)
    for e in log:
        state.apply(e)
    now = log[-1].event_time
    before = _online(state, now)
    victim = next(e for e in reversed(log) if isinstance(e, ProductView))
    limit = now - timedelta(seconds=CONFIG.allowed_lateness_s)
    too_late = ProductView(
        event_id="late-1", event_time=limit - timedelta(microseconds=1), product_id=victim.product_id,
        category="zzz", price=1.0, **_ident(victim),  # type: ignore[arg-type]
    )  # fmt: skip
    changed = state.apply(too_late)
    assert changed.late and changed.session_id is None and changed.product_ids == ()
    assert state.late_events == 1
    assert _online(state, now) == before
    just_in_time = ProductView(
        event_id="late-2", event_time=limit, product_id=victim.product_id, price=2.0, **_ident(victim),  # type: ignore[arg-type]
    )  # fmt: skip
    assert not state.apply(just_in_time).late
    row = state.product_row(victim.product_id, now)
    assert row is not None and row["views_1h"] == before[2][victim.product_id]["views_1h"] + 1  # type: ignore[operator]
