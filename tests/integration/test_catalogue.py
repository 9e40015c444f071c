"""The catalogue feed on the real broker: every worker's global table, dead letters, and stock in product rows."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from agents.follow_catalogue import CatalogueStage
from featurestore.hot import FeatureCache
from featurestore.reader import FeastSdkReader
from featurestore.store import open_store
from kairos.settings import Settings
from kairos.worker import feature_store_config
from schemas.errors import DeadLetterReason
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.catalogue import CatalogueTable
from streams.deadletters import iter_dead_letters
from streams.reader import read_topic
from tests.integration.kafka_io import produce_all
from tests.integration.test_feature_stage import run_product_stage, run_stage

pytestmark = pytest.mark.integration

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def follow(settings: Settings, table: CatalogueTable) -> CatalogueStage:
    """Run a catalogue stage until it has caught up with every partition, then stop it."""
    stage = CatalogueStage(settings.kafka, settings.topics, table)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    thread.start()
    assert stage.follower.caught_up.wait(60), "the catalogue follower never reached the end"
    stop.set()
    thread.join(30)
    return stage


def test_every_worker_builds_the_whole_catalogue_and_stock_reaches_product_rows(topics: Settings) -> None:
    settings = topics
    sim = Simulation(SimulationConfig(shoppers=150, duration_s=3600, seed=21, start_time=START))
    records = catalogue_records(sim.catalogue, START)
    restock = catalogue_records(sim.catalogue, START + timedelta(minutes=5))
    first = restock[0][0].decode()
    later = [(k, v.replace(b'"stock":', b'"stock":1000', 1) if k.decode() == first else v) for k, v in restock[:1]]
    produce_all(settings.kafka, settings.topics.catalogue, [*later, *records, (b"bad", b'{"product_id": "x"}')])

    tables = [CatalogueTable(), CatalogueTable()]
    for table in tables:  # two workers: each follows every partition
        stage = follow(settings, table)
        assert stage.follower.rejected == 1
    for table in tables:
        assert len(table) == len(sim.catalogue.products)
        for product in sim.catalogue.products:
            expected = int(f"1000{product.stock}") if product.product_id == first else product.stock
            assert table.stock(product.product_id) == expected, product.product_id  # newer record wins
    letters = [letter for _, letter in iter_dead_letters(settings.kafka, settings.topics.dead_letters)]
    assert [(d.stage, d.key) for d in letters] == [("follow_catalogue", b"bad")] * 2
    assert {d.reason for d in letters} == {DeadLetterReason.MISSING_FIELD}

    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    produce_all(settings.kafka, settings.topics.events, events)
    cache = FeatureCache()
    run_stage(settings, cache, len(events))
    by_product = read_topic(settings.kafka, settings.topics.events_by_product, settings.topics.partitions)
    run_product_stage(settings, cache, len(by_product), catalogue=tables[0])
    assert cache.products
    for product_id, row in cache.products.items():
        assert row["stock"] == tables[0].stock(product_id), product_id
    assert any(row["stock"] == 0 for row in cache.products.values()) or all(p.stock > 0 for p in sim.catalogue.products)
    deadline = time.monotonic() + 30
    reader = FeastSdkReader(open_store(feature_store_config(settings)))
    some = list(cache.products)[:25]
    while True:
        got = reader.read("u", "s", some)["products"]
        if all(got[p]["stock"] == cache.products[p]["stock"] for p in some) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {p: got[p]["stock"] for p in some} == {p: cache.products[p]["stock"] for p in some}
