"""The decision step on the real broker and the real Triton server (our model repository): every trigger gets one
guarded decision scored by Triton, a replay repeats them exactly, and with Triton stopped the fallback decides."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from featurestore.hot import FeatureCache
from kairos.serving import prepare_repository, triton_config
from kairos.settings import Settings
from schemas.catalogue import CatalogueItem
from schemas.codec import EventDecoder, StructDecoder
from schemas.decisions import Decision, InterventionType
from serving.inference import TritonProcess, start_triton
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.catalogue import CatalogueTable
from streams.reader import read_topic
from streams.topics import ensure_topics, topic_specs
from tests.integration.kafka_io import produce_all
from tests.integration.test_feature_stage import run_loop

pytestmark = pytest.mark.integration

TRIGGERS = {"product_view", "add_to_cart", "exit_intent", "chat_message", "checkout_start"}
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonProcess]:
    """The embedded server on the repository ``kairos triton`` writes (policy, encoder, intent; no LM)."""
    from kairos.settings import load_settings

    root = tmp_path_factory.mktemp("triton")
    settings = load_settings({}, serving={"repository": str(root / "models"), "load_lm": False})
    prepare_repository(settings)
    process = start_triton(triton_config(settings, free_ports=True), root / "triton.log")
    yield process
    process.stop()


def _with_triton(settings: Settings, url: str) -> Settings:
    """Score on ``url`` from the first decision (not the exploring rules first) with generous deadlines: which path
    decides (and which reads chat texts) must not depend on this machine's load here (the fallbacks have their own
    tests)."""
    return dataclasses.replace(
        settings,
        serving=dataclasses.replace(settings.serving, triton_url=url, intent_timeout_ms=2000.0),
        decide=dataclasses.replace(settings.decide, timeout_ms=2000.0, first_policy="served"),
    )


def _catalogue(sim: Simulation) -> CatalogueTable:
    table, decode = CatalogueTable(), StructDecoder(CatalogueItem).decode
    for _, value in catalogue_records(sim.catalogue, START):
        table.apply(decode(value))
    return table


def _decide(
    settings: Settings, events: list[tuple[bytes, bytes]], catalogue: CatalogueTable, *, until: int
) -> list[Decision]:
    from kairos.worker import feature_loop

    produce_all(settings.kafka, settings.topics.events, events)
    topics = settings.topics
    loop = feature_loop(settings, FeatureCache(), catalogue)
    run_loop(settings, loop, f"{topics.namespace}-features", topics.events, until)
    decode = StructDecoder(Decision).decode
    return [decode(m.value() or b"") for m in read_topic(settings.kafka, topics.interventions, topics.partitions)]


def _check_decisions(
    settings: Settings, events: list[tuple[bytes, bytes]], decisions: list[Decision], catalogue: CatalogueTable
) -> None:
    parsed = [EventDecoder().decode(v) for _, v in events]
    triggers = {e.event_id for e in parsed if e.event_type in TRIGGERS}
    assert triggers, "the simulator produced no triggers"
    by_trigger = Counter(d.trigger_event_id for d in decisions)
    assert triggers <= set(by_trigger), "a trigger got no decision"
    assert max(by_trigger.values()) == 1, "a trigger got two decisions"
    assert len({d.decision_id for d in decisions}) == len(decisions)
    # Replies to a chat message are exempt from the caps (GuardrailConfig.reply_triggers / reply_types).
    capped = [d for d in decisions if d.action.type not in {InterventionType.NONE, InterventionType.CONCIERGE_MESSAGE}]
    per_session = Counter(d.session_id for d in capped)
    assert max(per_session.values()) <= settings.decide.max_per_session
    for d in decisions:
        propensities = np.array([c.propensity for c in d.candidates])
        assert propensities.sum() == pytest.approx(1.0, abs=1e-9), d.decision_id
        chosen = [c for c in d.candidates if c.action == d.action]
        assert chosen and chosen[0].propensity == pytest.approx(d.propensity) and d.propensity > 0
        assert d.explanation, d.decision_id
        if d.action.product_id is not None:
            assert catalogue.stock(d.action.product_id) != 0, "offered an out-of-stock product"
    assert any(d.action.type is not InterventionType.NONE for d in decisions)


def test_triton_scores_every_trigger_and_a_replay_repeats_the_decisions(
    topics: Settings, triton: TritonProcess
) -> None:
    settings = _with_triton(topics, triton.grpc_url)
    sim = Simulation(SimulationConfig(shoppers=120, duration_s=3600, seed=5, start_time=START))
    catalogue = _catalogue(sim)
    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    decisions = _decide(settings, events, catalogue, until=len(events))
    _check_decisions(settings, events, decisions, catalogue)
    assert {d.policy_source for d in decisions} == {"triton"}
    assert {d.policy_name for d in decisions if d.policy_source == "triton"} == {"neural_bandit"}
    assert any(0 < d.propensity < 1 for d in decisions), "SquareCB never explored"

    # A replay of the same log into a new namespace makes the same decisions, exploration draws included.
    other = dataclasses.replace(settings.topics, namespace=settings.topics.namespace + "r")
    worker = dataclasses.replace(settings.worker, data_dir=settings.worker.data_dir + "-replay")
    replay = dataclasses.replace(settings, topics=other, worker=worker)
    ensure_topics(replay.kafka, topic_specs(replay.topics))
    again = _decide(replay, events, catalogue, until=len(events))
    assert sorted(again, key=_by_id) == sorted(decisions, key=_by_id)


def _by_id(decision: Decision) -> str:
    return decision.decision_id


def test_with_triton_stopped_the_fallback_decides(topics: Settings, tmp_path: Path) -> None:
    from kairos.settings import load_settings

    local = load_settings({}, serving={"repository": str(tmp_path / "models"), "load_lm": False})
    prepare_repository(local)
    server = start_triton(triton_config(local, free_ports=True), tmp_path / "triton.log")
    url = server.grpc_url
    server.stop()  # down before the first decision: every call fails, the breaker opens
    settings = _with_triton(topics, url)
    sim = Simulation(SimulationConfig(shoppers=60, duration_s=1800, seed=8, start_time=START))
    catalogue = _catalogue(sim)
    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    decisions = _decide(settings, events, catalogue, until=len(events))
    _check_decisions(settings, events, decisions, catalogue)
    assert {d.policy_source for d in decisions} == {"fallback"}
    assert {d.propensity for d in decisions} == {1.0}  # the rule policy is deterministic
    assert all(d.explanation[0].name.startswith("rule=") for d in decisions)
