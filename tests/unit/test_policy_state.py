"""The state and action vectors: fixed width, named dimensions, pinned layout, protected attributes never read."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decisions import Action, InterventionType
from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES
from serving.policy import (
    NOT_INPUTS,
    STATE_VERSION,
    Candidate,
    CandidateSources,
    ModelScores,
    PolicyConfigError,
    PolicyInputError,
    Relation,
    StateConfig,
    StateEncoder,
    generate_candidates,
)

DEFAULT_LAYOUT_DIGEST = "acc0c281"
"""Pinned: changing a name, the order or a width must come with a new STATE_VERSION (then update this digest)."""

ENC = StateEncoder()
USER = {
    "frequency": 2,
    "recency_days": 30.0,
    "t_days": 90.0,
    "monetary": 55.0,
    "purchase_count": 3,
    "average_order_value": 60.0,
    "top_category": "shoes",
    "category_affinity": 0.4,
    "discount_responsiveness": 0.25,
    "interventions_seen_1d": 1,
    "interventions_dismissed_1d": 0,
    "consent_marketing": True,
}
SESSION = {
    "events_so_far": 12,
    "dwell_s": 300.0,
    "idle_s": 4.0,
    "page_switches_30s": 3,
    "exit_intent": False,
    "cart_value": 80.0,
    "cart_size": 2,
    "categories_browsed": 2,
    "searches": 1,
    "last_sentiment": -0.5,
    "last_intent": "discount",
    "checkout_started": True,
}


def test_layout_is_pinned_to_the_version() -> None:
    assert ENC.version == STATE_VERSION
    assert ENC.layout_digest() == DEFAULT_LAYOUT_DIGEST, "layout changed: bump STATE_VERSION and the pinned digest"
    assert len(set(ENC.state_names)) == ENC.state_dim == 45
    assert len(set(ENC.action_names)) == ENC.action_dim == 23


def test_every_row_input_is_a_contract_feature_and_none_is_protected_or_consent() -> None:
    specs = {s.name: s for s in (*SESSION_FEATURES, *USER_FEATURES)}
    row_inputs = [n for n in ENC.state_names if n in specs]
    assert len(row_inputs) == 21
    assert not any(specs[n].protected for n in row_inputs)
    assert not set(ENC.state_names) & NOT_INPUTS
    product = {s.name for s in PRODUCT_FEATURES}
    assert {"price", "views_1h", "purchases_1h", "conversion_rate_1h"} <= product


def test_encoding_a_full_row_names_every_value() -> None:
    x = ENC.encode_state(USER, SESSION, ModelScores(abandonment=0.7, purchase_propensity=0.2, segment=3), "search")
    named = dict(zip(ENC.state_names, x.tolist(), strict=True))
    assert x.dtype == np.float32
    assert named["trigger=search"] == 1.0 and named["trigger=other"] == 0.0
    assert named["cart_value"] == pytest.approx(math.log1p(80.0))
    assert named["last_sentiment"] == -0.5
    assert named["checkout_started"] == 1.0 and named["exit_intent"] == 0.0
    assert named["last_intent=discount"] == 1.0
    assert named["has_top_category"] == 1.0
    assert named["discount_responsiveness"] == 0.25
    assert named["abandonment_risk"] == pytest.approx(0.7) and named["purchase_propensity"] == pytest.approx(0.2)
    assert named["segment=3"] == 1.0 and named["segment=unknown"] == 0.0


def test_missing_rows_and_unknowns_read_as_defaults() -> None:
    x = ENC.encode_state(None, None, ModelScores(), "purchase")
    named = dict(zip(ENC.state_names, x.tolist(), strict=True))
    assert named["trigger=other"] == 1.0
    assert named["has_user_row"] == named["has_session_row"] == 0.0
    assert named["abandonment_risk"] == named["purchase_propensity"] == 0.5
    assert named["segment=unknown"] == 1.0
    assert sum(x) == 3.0  # trigger=other + two unknown scores at 0.5 + segment=unknown
    odd = ENC.encode_state({"frequency": "x"}, {"last_intent": "haggling"}, ModelScores(segment=9), "exit_intent")
    named = dict(zip(ENC.state_names, odd.tolist(), strict=True))
    assert named["frequency"] == 0.0 and named["last_intent=other"] == 1.0 and named["segment=unknown"] == 1.0


values = st.one_of(st.none(), st.booleans(), st.integers(-(10**9), 10**9), st.floats(allow_nan=True), st.text())


@settings(max_examples=60, deadline=None)
@given(
    user=st.dictionaries(st.sampled_from([s.name for s in USER_FEATURES] + ["age_band", "x"]), values),
    session=st.dictionaries(st.sampled_from([s.name for s in SESSION_FEATURES]), values),
    trigger=st.text(max_size=20),
)
def test_any_rows_give_a_finite_fixed_width_vector(
    user: dict[str, object], session: dict[str, object], trigger: str
) -> None:
    before = (dict(user), dict(session))
    x = ENC.encode_state(user, session, ModelScores(), trigger)
    assert x.shape == (ENC.state_dim,) and np.isfinite(x).all()
    assert (user, session) == before


def test_protected_attributes_are_never_read() -> None:
    base = ENC.encode_state(USER, SESSION, ModelScores(), "page_view")
    with_attr = ENC.encode_state({**USER, "age_band": "65+", "gender": "f"}, SESSION, ModelScores(), "page_view")
    assert np.array_equal(base, with_attr)
    enc = StateEncoder(StateConfig(protected_attributes=frozenset({"cart_value", "top_category"})))
    assert "cart_value" not in enc.state_names and "has_top_category" not in enc.state_names
    assert enc.state_dim == ENC.state_dim - 2
    assert enc.version.startswith(f"{STATE_VERSION}+") and enc.version != ENC.version
    moved = enc.encode_state({**USER, "top_category": ""}, {**SESSION, "cart_value": 1e6}, ModelScores(), "page_view")
    assert np.array_equal(moved, enc.encode_state(USER, SESSION, ModelScores(), "page_view"))


def test_segment_width_is_configurable() -> None:
    enc = StateEncoder(StateConfig(n_segments=6))
    assert [n for n in enc.state_names if n.startswith("segment=")][-2:] == ["segment=5", "segment=unknown"]
    with pytest.raises(PolicyConfigError):
        StateConfig(n_segments=0)


def test_candidate_vectors_and_padding() -> None:
    rows = {
        "p0": {"category": "shoes", "price": 50.0, "co_purchased": ["p1"]},
        "p1": {"category": "shoes", "price": 100.0, "views_1h": 9, "purchases_1h": 2, "conversion_rate_1h": 0.22},
    }
    sources = CandidateSources(user_key="u", current_product_id="p0", product_rows=rows, acceptance=lambda u, i: 0.3)
    candidates = generate_candidates(sources)
    vectors, valid = ENC.encode_candidates(candidates, rows, anchor_product_id="p0", pad_to=25)
    assert vectors.shape == (25, ENC.action_dim) and vectors.dtype == np.float32
    assert valid.tolist() == [True] * len(candidates) + [False] * (25 - len(candidates))
    assert not vectors[len(candidates) :].any()
    upsell = dict(zip(ENC.action_names, vectors[len(candidates) - 1].tolist(), strict=True))
    assert upsell["type=upsell"] == 1.0 and upsell["has_product"] == 1.0
    assert upsell["price"] == pytest.approx(math.log1p(100.0))
    assert upsell["price_vs_anchor"] == pytest.approx(math.log(2.0))
    assert upsell["views_1h"] == pytest.approx(math.log1p(9)) and upsell["conversion_rate_1h"] == pytest.approx(0.22)
    assert upsell["cf_acceptance"] == pytest.approx(0.3) and upsell["has_cf_acceptance"] == 1.0
    assert upsell["rel=co_purchased_current"] == upsell["rel=same_category"] == 1.0
    discount = dict(zip(ENC.action_names, vectors[5].tolist(), strict=True))
    assert discount["type=discount"] == 1.0 and discount["discount_pct"] == pytest.approx(0.10)
    with pytest.raises(PolicyInputError):
        ENC.encode_candidates(candidates, rows, pad_to=len(candidates) - 1)


def test_popularity_and_category_candidates() -> None:
    popular = Candidate(
        Action(type=InterventionType.UPSELL, product_id="x"), relations=frozenset({Relation.POPULAR}), popularity_rank=3
    )
    category = Candidate(Action(type=InterventionType.CROSS_SELL, category="hats"))
    vectors, _ = ENC.encode_candidates([popular, category], {})
    named = [dict(zip(ENC.action_names, v.tolist(), strict=True)) for v in vectors]
    assert named[0]["popularity"] == 0.25 and named[0]["rel=popular"] == 1.0 and named[0]["price"] == 0.0
    assert named[1]["has_category"] == 1.0 and named[1]["has_product"] == 0.0 and named[1]["has_cf_acceptance"] == 0.0


def _reference_transform(kind: str, value: object) -> float:
    """The documented per-field transforms, written out plainly."""
    if kind == "bool":
        return 1.0 if value is True else 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    if kind == "log":
        return math.copysign(math.log1p(abs(float(value))), float(value))
    return max(-1e6, min(1e6, float(value)))


@settings(max_examples=80, deadline=None)
@given(dwell=values, sentiment=values, exit_intent=values, affinity=values, frequency=values)
def test_row_transforms_follow_the_documented_rules(
    dwell: object, sentiment: object, exit_intent: object, affinity: object, frequency: object
) -> None:
    session = {"dwell_s": dwell, "last_sentiment": sentiment, "exit_intent": exit_intent}
    user = {"category_affinity": affinity, "frequency": frequency}
    named = dict(zip(ENC.state_names, ENC.encode_state(user, session, ModelScores(), "x").tolist(), strict=True))
    expected = {
        "dwell_s": _reference_transform("log", dwell),
        "last_sentiment": _reference_transform("raw", sentiment),
        "exit_intent": _reference_transform("bool", exit_intent),
        "category_affinity": _reference_transform("raw", affinity),
        "frequency": _reference_transform("log", frequency),
    }
    for name, value in expected.items():
        assert named[name] == float(np.float32(value)), name


def _catalogue_candidates() -> tuple[list[Candidate], dict[str, dict[str, object]]]:
    rows: dict[str, dict[str, object]] = {
        f"p{i}": {
            "category": "shoes" if i % 2 else "socks",
            "price": 10.0 * (i + 1),
            "views_1h": i,
            "purchases_1h": i // 3,
        }
        for i in range(8)
    }
    rows["p0"]["co_purchased"] = ["p1", "p2", "p3"]
    rows["p5"]["price"] = float("nan")
    rows["p6"]["conversion_rate_1h"] = 0.5
    sources = CandidateSources(
        user_key="u",
        current_product_id="p0",
        product_rows=rows,
        popular=(*(f"p{i}" for i in range(8)), "unknown"),
        acceptance=lambda u, i: (len(i) % 5) / 5,
        user_top_category="shoes",
    )
    return list(generate_candidates(sources)), rows


def test_product_cache_gives_the_vectors_of_a_fresh_encoder() -> None:
    candidates, rows = _catalogue_candidates()
    cached = StateEncoder(product_cache_size=3)  # smaller than the products: entries are evicted and recomputed
    for anchor in ("p0", "p5", "p7", None, "p0"):
        fresh = StateEncoder().encode_candidates(candidates, rows, anchor_product_id=anchor, pad_to=25)
        again = cached.encode_candidates(candidates, rows, anchor_product_id=anchor, pad_to=25)
        assert np.array_equal(fresh[0], again[0]) and np.array_equal(fresh[1], again[1])
    assert len(cached._product_cache) <= 3


def test_a_replaced_product_row_is_encoded_anew() -> None:
    candidates, rows = _catalogue_candidates()
    enc = StateEncoder()
    before, _ = enc.encode_candidates(candidates, rows, anchor_product_id="p0")
    changed = {**rows, "p3": {**rows["p3"], "price": 999.0, "views_1h": 50}}  # a new row object, as the stages do
    after, _ = enc.encode_candidates(candidates, changed, anchor_product_id="p0")
    expected, _ = StateEncoder().encode_candidates(candidates, changed, anchor_product_id="p0")
    assert np.array_equal(after, expected) and not np.array_equal(after, before)


def test_the_encoder_pickles_without_its_cache() -> None:
    candidates, rows = _catalogue_candidates()
    enc = StateEncoder()
    first, _ = enc.encode_candidates(candidates, rows, anchor_product_id="p0")
    restored = pickle.loads(pickle.dumps(enc))
    assert restored._product_cache == {}
    assert np.array_equal(restored.encode_candidates(candidates, rows, anchor_product_id="p0")[0], first)
    with pytest.raises(PolicyConfigError):
        StateEncoder(product_cache_size=0)
