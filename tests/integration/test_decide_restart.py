"""Decisions exactly once per trigger across a crash: the feature stage dies after its decisions were delivered and
before it committed or checkpointed; the restarted stage decides those triggers again but publishes nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from agents.compute_features import FeatureHandler
from featurestore.hot import FeatureCache
from kairos.serving import decision_stage
from kairos.settings import Settings
from kairos.worker import feature_loop
from schemas.codec import EventDecoder, StructDecoder
from schemas.contexts import DecisionContext
from schemas.decisions import Decision
from simulator import Simulation, SimulationConfig
from streams.catalogue import CatalogueTable
from streams.clients import producer_config
from streams.metrics import REGISTRY
from streams.reader import read_range, read_topic
from tests.integration.kafka_io import produce_all
from tests.integration.test_feature_stage import run_loop

pytestmark = pytest.mark.integration

TRIGGERS = {"product_view", "add_to_cart", "exit_intent", "chat_message", "checkout_start"}


class _NoSink:
    """The crashed process never reached Feast."""

    def offer(self, view: str, rows: dict[str, dict[str, Any]]) -> None:
        pass

    def flush(self) -> None:
        pass

    def forget(self, view: str, keys: object, join_key: str) -> None:
        pass


def test_decisions_delivered_before_a_crash_are_not_published_again(topics: Settings, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sim = Simulation(SimulationConfig(shoppers=60, duration_s=1800, seed=11, start_time=start))
    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    produce_all(topics.kafka, topics.topics.events, events)
    names, parts = topics.topics, topics.topics.partitions

    # The first process: decides half of each partition, its records are acknowledged, then it dies (no commit,
    # no checkpoint).
    cache, catalogue = FeatureCache(), CatalogueTable()
    crashed = FeatureHandler(
        topics.kafka,
        names,
        cache,
        _NoSink(),
        tmp_path / "crashed-checkpoints",
        decide=decision_stage(topics, cache, catalogue),
        checkpoint_every_s=3600.0,
    )
    producer = Producer(producer_config(topics.kafka, **{"enable.idempotence": True}))
    for partition in range(parts):
        crashed.assigned(names.events, partition, -1)
        records = list(read_range(topics.kafka, names.events, partition, 0))
        crashed.handle(records[: len(records) // 2], producer)
    assert producer.flush(30) == 0
    before_crash = len(read_topic(topics.kafka, names.interventions, parts))
    assert before_crash > 0, "the first process published no decision: nothing to hold back"

    held = REGISTRY.get_sample_value("kairos_decisions_held_back_total", {"output": "decision"}) or 0.0
    loop = feature_loop(topics, FeatureCache(), CatalogueTable())  # the restart: from the committed offsets (none)
    run_loop(topics, loop, f"{names.namespace}-features", names.events, len(events))
    held = (REGISTRY.get_sample_value("kairos_decisions_held_back_total", {"output": "decision"}) or 0.0) - held

    decisions = [
        StructDecoder(Decision).decode(m.value() or b"") for m in read_topic(topics.kafka, names.interventions, parts)
    ]
    by_trigger = Counter(d.trigger_event_id for d in decisions)
    assert max(by_trigger.values()) == 1, "a trigger was published twice"
    assert len({d.decision_id for d in decisions}) == len(decisions)
    assert held == before_crash, "every decision of the first process was decided again and held back"
    triggers = {e.event_id for e in (EventDecoder().decode(v) for _, v in events) if e.event_type in TRIGGERS}
    assert triggers <= set(by_trigger), "a trigger got no decision"
    contexts = [
        StructDecoder(DecisionContext).decode(m.value() or b"")
        for m in read_topic(topics.kafka, names.decision_contexts, parts)
    ]
    assert sorted(c.decision_id for c in contexts) == sorted(d.decision_id for d in decisions)
