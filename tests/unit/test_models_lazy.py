"""Lazy snapshots: rows are remembered unscored, scored only when a decision asks or when the label comes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from serving.models import AbandonmentModel, OfferAcceptanceModel, PurchasePropensityModel
from serving.models.delayed import DelayedLabelClassifier

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
Row = dict[str, object]


def _row(rng: random.Random) -> Row:
    cart = rng.random() < 0.4
    return {
        "events_so_far": rng.randint(1, 30),
        "dwell_s": rng.uniform(0, 600),
        "cart_value": rng.uniform(10, 200) if cart else 0.0,
        "cart_size": rng.randint(1, 4) if cart else 0,
        "checkout_started": cart and rng.random() < 0.5,
        "last_intent": rng.choice(["", "returns", "discount"]),
        "purchase_count": rng.randint(0, 3),
    }


def _sessions(seed: int, n: int) -> list[tuple[str, list[Row], bool]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rows = [_row(rng) for _ in range(rng.randint(1, 6))]
        out.append((f"s{i}", rows, bool(rows[-1]["checkout_started"]) and rng.random() < 0.8))
    return out


def _weights(model: DelayedLabelClassifier) -> dict[str, float]:
    return dict(model.model["LogisticRegression"].weights)


@pytest.mark.parametrize("make", [AbandonmentModel, PurchasePropensityModel])
def test_lazy_equals_eager_when_no_label_comes_between_a_snapshot_and_its_label(
    make: type[DelayedLabelClassifier],
) -> None:
    """Sessions one after another: nothing is learned between a session's last row and its label, so the model
    that scores the label lazily is the one that would have served the row."""
    eager, lazy = make(), make()
    t = T0
    for sid, rows, purchased in _sessions(seed=1, n=400):
        for row in rows:
            t += timedelta(seconds=1)
            eager.predict_proba_one(sid, row, t)
            lazy.observe_one(sid, t, row)
        assert lazy.label(sid, purchased) == eager.label(sid, purchased)
    assert lazy.metrics() == eager.metrics()
    assert _weights(lazy) == _weights(eager)


@pytest.mark.parametrize("make", [AbandonmentModel, PurchasePropensityModel])
def test_interleaved_sessions_learn_the_same_whether_or_not_anyone_asked(
    make: type[DelayedLabelClassifier],
) -> None:
    """Labels of other sessions land between a row and its label: what is learned is the same, and every label is
    scored once; only lazily scored labels may see a fresher model (still one that never saw their label)."""
    asked, lazy = make(), make()
    rng, t = random.Random(3), T0
    open_sessions: dict[str, bool] = {}
    stream = iter(_sessions(seed=2, n=300))
    events: list[tuple[str, Row | None, bool]] = []
    for sid, rows, purchased in stream:
        open_sessions[sid] = purchased
        events += [(sid, row, purchased) for row in rows]
    rng.shuffle(events)  # interleave the sessions' rows...
    remaining = {sid: sum(1 for s, _, _ in events if s == sid) for sid in open_sessions}
    for sid, row, purchased in events:
        t += timedelta(seconds=1)
        assert row is not None
        asked.observe_one(sid, t, row)
        asked.predict_pending_one(sid, row)  # a decision on every event: the eager behaviour
        lazy.observe_one(sid, t, row)
        remaining[sid] -= 1
        if remaining[sid] == 0:  # ...and label each session after its last row
            asked.label(sid, purchased)
            lazy.label(sid, purchased)
    assert _weights(asked) == _weights(lazy)
    assert asked.metrics()["labels"] == lazy.metrics()["labels"] == 300
    assert abs(asked.metrics()["log_loss"] - lazy.metrics()["log_loss"]) < 0.05


def test_a_served_probability_is_what_the_label_is_scored_against() -> None:
    model = AbandonmentModel()
    for i, (sid, rows, purchased) in enumerate(_sessions(seed=4, n=50)):
        model.predict_proba_one(sid, rows[-1], T0 + timedelta(seconds=i))
        model.label(sid, purchased)
    row: Row = {"cart_value": 50.0, "checkout_started": True}
    model.observe_one("asked", T0 + timedelta(minutes=5), row)
    served = model.predict_pending_one("asked", row)
    assert model.predict_pending_one("asked", dict(row)) == served  # an equal row, not the snapshot: not recorded
    model.observe_one("unasked", T0 + timedelta(minutes=5), row)
    for i, (sid, rows, purchased) in enumerate(_sessions(seed=5, n=50)):  # the model moves on
        model.predict_proba_one(sid, rows[-1], T0 + timedelta(minutes=6, seconds=i))
        model.label(sid, purchased)
    now = model.predict_pending_one("probe", row)
    assert now != served
    assert model.label("unasked", purchased=False) == now  # scored at label time, before learning it
    assert model.label("asked", purchased=False) == served  # scored against what was served


def test_a_newer_row_replaces_an_asked_snapshot() -> None:
    model = AbandonmentModel()
    first: Row = {"cart_value": 10.0}
    second: Row = {"cart_value": 90.0, "checkout_started": True}
    model.observe_one("s", T0, first)
    model.predict_pending_one("s", first)
    model.observe_one("s", T0 + timedelta(seconds=1), second)
    for i, (sid, rows, purchased) in enumerate(_sessions(seed=8, n=30)):  # the model moves on
        model.predict_proba_one(sid, rows[-1], T0 + timedelta(seconds=i + 2))
        model.label(sid, purchased)
    expected = model.predict_pending_one("other", second)  # the model just before it learns the label
    assert model.label("s", purchased=True) == expected


def test_first_snapshots_are_scored_when_taken() -> None:
    model = PurchasePropensityModel()
    row: Row = {"purchase_count": 2}
    model.observe_one("s", T0, row)
    taken = model.predict_pending_one("probe", row)
    for i, (sid, rows, purchased) in enumerate(_sessions(seed=6, n=30)):
        model.predict_proba_one(sid, rows[0], T0 + timedelta(seconds=i + 1))
        model.label(sid, purchased)
    model.observe_one("s", T0 + timedelta(minutes=1), {"purchase_count": 9})  # not the first: ignored
    assert model.label("s", purchased=True) == taken


def test_rows_are_merged_left_to_right_and_not_modified() -> None:
    user: Row = {"purchase_count": 3, "cart_value": 1.0}
    session: Row = {"cart_value": 70.0, "checkout_started": True}
    before = (dict(user), dict(session))
    model = AbandonmentModel()
    model.observe_one("s", T0, user, session)
    assert model.predict_pending_one("s", user, session) == model.predict_pending_one("x", {**user, **session})
    model.label("s", purchased=False)
    assert (user, session) == before


def test_offer_probabilities_many_equal_one_by_one() -> None:
    rng, model = random.Random(7), OfferAcceptanceModel(seed=2)
    items = [f"i{k}" for k in range(12)] + ["type:discount"]
    assert model.predict_proba_many("u0", items) == [0.5] * len(items)
    for _ in range(800):
        model.learn_one(f"u{rng.randint(0, 5)}", rng.choice(items[:-3]), rng.random() < 0.4)
    for user in ("u0", "u3", "stranger"):
        assert model.predict_proba_many(user, items) == [model.predict_proba_one(user, i) for i in items]
