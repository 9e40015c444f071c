"""The feature stage on the real broker and a real Feast online store (SQLite): the hot copy and Feast agree with
an independent replay of the same events, across a restart from a checkpoint."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from featurestore.hot import FeatureCache
from featurestore.reader import FeastSdkReader
from featurestore.store import open_store
from kairos.settings import Settings
from kairos.worker import feature_loop, feature_store_config, product_feature_loop
from schemas.codec import EventDecoder
from simulator import Simulation, SimulationConfig
from streams.batch_loop import BatchLoop
from streams.catalogue import CatalogueTable
from streams.features import FeatureConfig, FeatureState
from streams.reader import committed_total, read_range, read_topic, watermarks
from tests.integration.kafka_io import produce_all

pytestmark = pytest.mark.integration

NOW_FREE_USER = ("frequency", "recency_days", "monetary", "purchase_count", "average_order_value", "top_category")
NOW_FREE_SESSION = ("events_so_far", "dwell_s", "cart_value", "cart_size", "searches", "categories_browsed")


def simulated_events(n_shoppers: int) -> list[tuple[bytes, bytes]]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    sim = Simulation(SimulationConfig(shoppers=n_shoppers, duration_s=3600, seed=21, start_time=start))
    return [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]


def run_stage(settings: Settings, cache: FeatureCache, until: int) -> None:
    topics = settings.topics
    run_loop(settings, feature_loop(settings, cache), f"{topics.namespace}-features", topics.events, until)


def run_product_stage(
    settings: Settings, cache: FeatureCache, until: int, *, catalogue: CatalogueTable | None = None
) -> None:
    topics = settings.topics
    loop = product_feature_loop(settings, cache, catalogue or CatalogueTable())
    run_loop(settings, loop, f"{topics.namespace}-product-features", topics.events_by_product, until)


def run_loop(
    settings: Settings, loop: BatchLoop, group: str, topic: str, until: int, *, timeout_s: float = 120
) -> None:
    """Run ``loop`` in a thread until ``group`` has committed ``until`` records of ``topic``, then stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while committed_total(settings.kafka, group, topic, settings.topics.partitions) < until:
        assert time.monotonic() < deadline, f"{group} did not catch up"
        assert thread.is_alive(), f"{group} died"
        time.sleep(0.2)
    stop.set()
    thread.join(60)


def replay(settings: Settings) -> dict[int, FeatureState]:
    decode, states = EventDecoder().decode, {}
    for partition in range(settings.topics.partitions):
        state = FeatureState()
        low, _ = watermarks(settings.kafka, settings.topics.events, partition)
        for msg in read_range(settings.kafka, settings.topics.events, partition, low):
            state.apply(decode(msg.value() or b""))
        states[partition] = state
    return states


def test_features_match_a_replay_and_feast_matches_the_hot_copy_across_a_restart(
    topics: Settings, tmp_path: Path
) -> None:
    settings = topics
    records = simulated_events(150)
    half = len(records) // 2
    produce_all(settings.kafka, settings.topics.events, records[:half])
    cache = FeatureCache()
    run_stage(settings, cache, half)  # stops cleanly: checkpoints every partition
    assert list((Path(settings.worker.data_dir) / "checkpoints" / "features").glob("*.ckpt"))

    produce_all(settings.kafka, settings.topics.events, records[half:])
    cache = FeatureCache()  # a new process: nothing in memory, state comes from the checkpoints
    run_stage(settings, cache, len(records))

    states = replay(settings)
    users = {k: u for s in states.values() for k in s.user_keys() for u in [s.user_row(k, datetime.now(UTC))] if u}
    assert users, "no user features at all"
    compared = 0
    for key, row in cache.users.items():
        expected = users[key]
        assert {f: row[f] for f in NOW_FREE_USER} == {f: expected[f] for f in NOW_FREE_USER}, key
        compared += 1
    assert compared > 0
    assert any(row["purchase_count"] > 0 for row in cache.users.values())

    store = open_store(feature_store_config(settings))
    reader = FeastSdkReader(store)
    for (key, row), (session_id, session) in zip(
        list(cache.users.items())[:25], list(cache.sessions.items())[:25], strict=False
    ):
        got = reader.read(key, session_id, [])
        assert got["user"] == dict(row), key
        assert {f: got["session"][f] for f in NOW_FREE_SESSION} == {f: session[f] for f in NOW_FREE_SESSION}


def test_product_features_combine_every_user_partition(topics: Settings) -> None:
    settings = topics
    records = simulated_events(150)
    produce_all(settings.kafka, settings.topics.events, records)
    cache = FeatureCache()
    run_stage(settings, cache, len(records))
    by_product = read_topic(settings.kafka, settings.topics.events_by_product, settings.topics.partitions)
    assert by_product, "the feature stage re-keyed nothing"
    run_product_stage(settings, cache, len(by_product))

    decode = EventDecoder().decode
    everything = FeatureState(FeatureConfig(allowed_lateness_s=1e9))
    for event in sorted((decode(v) for _, v in records), key=lambda e: e.event_time):
        everything.apply(event)
    now = datetime.now(UTC)
    assert cache.products
    for product_id, row in cache.products.items():
        expected = everything.product_row(product_id, now)
        assert expected is not None
        assert (row["price"], row["category"], row["co_purchased"]) == (
            expected["price"],
            expected["category"],
            expected["co_purchased"],
        ), product_id
    assert any(row["co_purchased"] for row in cache.products.values())
    got = FeastSdkReader(open_store(feature_store_config(settings))).read("u", "s", list(cache.products)[:25])
    for product_id, values in got["products"].items():
        assert values["price"] == cache.products[product_id]["price"]
