"""``kairos bench features``: one decision's feature read (user + session + 25 products) through the hot
FeatureReader, against Feast's SDK ``get_online_features`` for the same entities and features on the same store,
in one run; plus the feature stage's update throughput (apply + row building) on a simulator stream."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.compute_features import learn_from_event
from bench.hot_reader import HotFeatureReader
from featurestore.config import FeatureStoreConfig
from featurestore.hot import FeatureCache
from featurestore.reader import FeastSdkReader
from featurestore.store import open_store
from featurestore.writer import OnlineFeatureWriter
from kairos.progress import track
from schemas.codec import EventDecoder
from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES, FeatureSpec
from serving.models import ModelSuite
from simulator import Simulation, SimulationConfig
from streams.features import FeatureState

__all__ = ["run"]

_VALUES: dict[str, Callable[[random.Random], Any]] = {
    "int64": lambda rng: rng.randrange(100),
    "float64": lambda rng: rng.random() * 100,
    "bool": lambda rng: rng.random() < 0.5,
    "string": lambda rng: f"c{rng.randrange(12)}",
    "string_list": lambda rng: [f"p{rng.randrange(500)}" for _ in range(3)],
}


def _rows(specs: tuple[FeatureSpec, ...], key: str, ids: list[str], rng: random.Random) -> dict[str, dict[str, Any]]:
    at = datetime.now(UTC)
    return {i: {**{s.name: _VALUES[s.dtype](rng) for s in specs}, key: i, "event_timestamp": at} for i in ids}


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    return ordered[len(ordered) // 2] / 1e6, ordered[int(len(ordered) * 0.99)] / 1e6


def _update_throughput(shoppers: int) -> tuple[float, int]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=7)
    sim = Simulation(SimulationConfig(shoppers=shoppers, duration_s=6 * 3600, seed=3, start_time=start))
    decode = EventDecoder().decode
    events = [decode(r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    state, models = FeatureState(), ModelSuite(seed=0)
    started = time.perf_counter()
    for event in track(events, "feature updates", unit="ev"):  # the feature stage's work per event, minus the I/O
        keys = state.apply(event)
        if not keys.late:
            learn_from_event(models, state, event, keys)
    return len(events) / (time.perf_counter() - started), len(events)


def run(
    *,
    reads: int = 2000,
    candidates: int = 25,
    online_store: str = "sqlite",
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Write the same rows to Feast and the hot copy, then time both readers on the same random decisions."""
    rng = random.Random(7)
    users = [f"u{i}" for i in range(2000)]
    sessions = [f"s{i}" for i in range(2000)]
    products = [f"p{i}" for i in range(500)]
    with tempfile.TemporaryDirectory(prefix="kairos-bench-feast-") as tmp:
        store = open_store(FeatureStoreConfig(data_dir=tmp, online_store=online_store))
        writer, cache = OnlineFeatureWriter(store), FeatureCache()
        for view, short, specs, key, ids in (
            ("kairos_user", "user", USER_FEATURES, "user_id", users),
            ("kairos_session", "session", SESSION_FEATURES, "session_id", sessions),
            ("kairos_product", "product", PRODUCT_FEATURES, "product_id", products),
        ):
            rows = _rows(specs, key, ids, rng)
            writer.write(view, list(rows.values()))
            cache.put(short, {k: {s.name: r[s.name] for s in specs} for k, r in rows.items()})
        hot, sdk = HotFeatureReader(cache), FeastSdkReader(store)
        decisions = [(rng.choice(users), rng.choice(sessions), rng.sample(products, candidates)) for _ in range(reads)]
        for user, session, cands in decisions[:50]:  # warm both
            hot.read(user, session, cands)
            sdk.read(user, session, cands)
        hot_ns, sdk_ns = [], []
        for user, session, cands in track(decisions, "feature reads (hot copy, Feast SDK)", unit="read"):
            t0 = time.perf_counter_ns()
            hot.read(user, session, cands)
            t1 = time.perf_counter_ns()
            sdk.read(user, session, cands)
            t2 = time.perf_counter_ns()
            hot_ns.append(t1 - t0)
            sdk_ns.append(t2 - t1)
        sample = decisions[0]
        same = dict(hot.read(*sample).user) == sdk.read(*sample)["user"]
    kairos_p50, kairos_p99 = _percentiles(hot_ns)
    feast_p50, feast_p99 = _percentiles(sdk_ns)
    log(f"hot copy p50={kairos_p50:.4f} ms p99={kairos_p99:.4f} ms; feast sdk p50={feast_p50:.2f} p99={feast_p99:.2f}")
    update_eps, update_events = _update_throughput(1500)
    log(f"feature updates with River learning: {update_eps:,.0f} events/s over {update_events} simulator events")
    return {
        "benchmark": "features",
        "online_store": "redis" if online_store.startswith("redis") else "sqlite",
        "reads": reads,
        "candidates": candidates,
        "kairos_p50_ms": round(kairos_p50, 5),
        "kairos_p99_ms": round(kairos_p99, 5),
        "feast_sdk_p50_ms": round(feast_p50, 3),
        "feast_sdk_p99_ms": round(feast_p99, 3),
        "speedup": round(feast_p99 / kairos_p99, 1),
        "same_values": same,
        "update_events_per_s": round(update_eps),
        "river_learning": True,
    }
