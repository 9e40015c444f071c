"""The decision step on the real broker: every trigger gets one decision, guardrails hold, a replay repeats it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from featurestore.hot import FeatureCache
from kairos.settings import Settings
from schemas.catalogue import CatalogueItem
from schemas.codec import EventDecoder, StructDecoder
from schemas.decisions import Decision, InterventionType
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.catalogue import CatalogueTable
from streams.reader import read_topic
from streams.topics import ensure_topics, topic_specs
from tests.integration.kafka_io import produce_all
from tests.integration.test_feature_stage import run_loop

pytestmark = pytest.mark.integration

TRIGGERS = {"product_view", "add_to_cart", "exit_intent", "chat_message", "checkout_start"}


def _decide(settings: Settings, events: list[tuple[bytes, bytes]], catalogue: CatalogueTable) -> list[Decision]:
    from kairos.worker import feature_loop

    produce_all(settings.kafka, settings.topics.events, events)
    topics = settings.topics
    run_loop(
        settings,
        feature_loop(settings, FeatureCache(), catalogue),
        f"{topics.namespace}-features",
        topics.events,
        len(events),
    )
    decode = StructDecoder(Decision).decode
    return [decode(m.value() or b"") for m in read_topic(settings.kafka, topics.interventions, topics.partitions)]


def test_triggers_get_one_guarded_decision_each_and_a_replay_repeats_them(topics: Settings) -> None:
    settings = topics
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    sim = Simulation(SimulationConfig(shoppers=120, duration_s=3600, seed=5, start_time=start))
    catalogue = CatalogueTable()
    decode_item = StructDecoder(CatalogueItem).decode
    for _, value in catalogue_records(sim.catalogue, start):
        catalogue.apply(decode_item(value))
    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    decisions = _decide(settings, events, catalogue)

    parsed = [EventDecoder().decode(v) for _, v in events]
    triggers = {e.event_id for e in parsed if e.event_type in TRIGGERS}
    assert triggers, "the simulator produced no triggers"
    by_trigger = Counter(d.trigger_event_id for d in decisions)
    assert triggers <= set(by_trigger), "a trigger got no decision"
    assert max(by_trigger.values()) == 1, "a trigger got two decisions"
    assert len({d.decision_id for d in decisions}) == len(decisions)
    assert {d.policy_source for d in decisions} == {"fallback"}  # no Triton configured here
    per_session = Counter(d.session_id for d in decisions if d.action.type is not InterventionType.NONE)
    assert max(per_session.values()) <= settings.decide.max_per_session
    for d in decisions:
        assert 0 < d.propensity <= 1
        assert d.action in [c.action for c in d.candidates]
        assert d.explanation, d.decision_id
        if d.action.product_id is not None:
            assert catalogue.stock(d.action.product_id) != 0, "offered an out-of-stock product"
    assert any(d.action.type is not InterventionType.NONE for d in decisions)

    # A replay of the same log in a new namespace makes the same decisions.
    other = dataclasses.replace(settings.topics, namespace=settings.topics.namespace + "r")
    replay = dataclasses.replace(
        settings,
        topics=other,
        worker=dataclasses.replace(settings.worker, data_dir=settings.worker.data_dir + "-replay"),
    )
    ensure_topics(replay.kafka, topic_specs(replay.topics))
    again = _decide(replay, events, catalogue)
    assert sorted(again, key=_by_id) == sorted(decisions, key=_by_id)


def _by_id(decision: Decision) -> str:
    return decision.decision_id
