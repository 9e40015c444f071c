"""The benchmark's hot reader: latest rows win, unknown entities read as the contract's defaults."""

from __future__ import annotations

from bench.hot_reader import HotFeatureReader
from featurestore.hot import FeatureCache
from schemas.features import FEATURE_VERSION, PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES


def test_reads_latest_rows_and_defaults_for_unknown_entities() -> None:
    cache = FeatureCache()
    reader = HotFeatureReader(cache)
    cache.put("user", {"u1": {"purchase_count": 1}})
    cache.put("user", {"u1": {"purchase_count": 2}})
    cache.put("product", {"p1": {"price": 9.5}})
    snap = reader.read("u1", "s-unknown", ["p1", "p-unknown"])
    assert snap.user == {"purchase_count": 2}
    assert set(snap.session) == {spec.name for spec in SESSION_FEATURES}
    assert snap.session["events_so_far"] == 0 and snap.session["last_intent"] == ""
    assert snap.products[0] == {"price": 9.5}
    assert set(snap.products[1]) == {spec.name for spec in PRODUCT_FEATURES}
    assert snap.feature_version == FEATURE_VERSION
    assert set(reader.read("nobody", "s", []).user) == {spec.name for spec in USER_FEATURES}


def test_dropped_sessions_read_as_defaults() -> None:
    cache = FeatureCache()
    cache.put("session", {"s1": {"events_so_far": 3}})
    cache.drop_sessions(["s1"])
    assert HotFeatureReader(cache).read("u", "s1", []).session["events_so_far"] == 0
