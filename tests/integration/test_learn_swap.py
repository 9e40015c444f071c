"""The learning loop on the real broker and the real Triton server: decisions publish their contexts, the learner
joins them with final rewards, the gate promotes a better policy, it is hot-swapped into Triton while requests keep
being answered, and decisions made after the swap are scored by the new version and log it."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agents.learn import ReleaseBoard, ReleaseFollower
from featurestore.hot import FeatureCache
from kairos.serving import learn_stage, policy_parts, prepare_repository, triton_config
from kairos.settings import Settings, load_settings
from schemas.codec import StructDecoder, encode
from schemas.contexts import DecisionContext
from schemas.decisions import Decision, InterventionType
from schemas.rewards import Reward, RewardComponent, reward_id_for
from serving.inference import (
    POLICY_MODEL,
    InferenceUnavailableError,
    ModelControl,
    PolicyClient,
    TritonProcess,
    start_triton,
)
from serving.learning import latest_checkpoint, restore_weights
from simulator import Simulation, SimulationConfig
from streams.catalogue import CatalogueTable
from streams.reader import read_topic
from tests.integration.kafka_io import produce_all
from tests.integration.test_decide import _catalogue
from tests.integration.test_feature_stage import run_loop

pytestmark = pytest.mark.integration

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
K_SYNTHETIC = 5


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TritonProcess, Path]]:
    """The embedded server on the repository ``kairos triton`` writes (policy + encoder; no LM)."""
    root = tmp_path_factory.mktemp("triton-learn")
    settings = load_settings({}, serving={"repository": str(root / "models"), "load_lm": False})
    prepare_repository(settings)
    process = start_triton(triton_config(settings, free_ports=True), root / "triton.log")
    yield process, root / "models"
    process.stop()


def _settings(topics: Settings, url: str, repository: Path) -> Settings:
    return dataclasses.replace(
        topics,
        serving=dataclasses.replace(topics.serving, triton_url=url, repository=str(repository), load_lm=False),
        decide=dataclasses.replace(topics.decide, timeout_ms=2000.0),
        learn=dataclasses.replace(
            topics.learn, enabled=True, propose_every=500, min_samples=150, holdout=0.25, margin=0.0
        ),
    )


def _decide(
    settings: Settings, events: list[tuple[bytes, bytes]], until: int, catalogue: CatalogueTable, board: ReleaseBoard
) -> None:
    from kairos.worker import feature_loop

    produce_all(settings.kafka, settings.topics.events, events)
    loop = feature_loop(settings, FeatureCache(), catalogue, releases=board)
    topics = settings.topics
    run_loop(settings, loop, f"{topics.namespace}-features", topics.events, until)


def _synthetic_rounds(settings: Settings, n: int) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """Contexts logged uniformly over K candidates (features in [0, 1), like the encoder's), rewarded by the chosen
    candidate's first feature: a policy that learns it beats the initial one by a wide margin."""
    parts = policy_parts(settings)
    rng = np.random.default_rng(7)
    contexts, rewards = [], []
    for i in range(n):
        key, at = f"u-{i % 50}", START + timedelta(seconds=i)
        candidates = rng.uniform(size=(K_SYNTHETIC, parts.encoder.action_dim))
        chosen = int(rng.integers(0, K_SYNTHETIC))
        context = DecisionContext(
            decision_id=f"d-syn-{i}",
            key=key,
            event_time=at,
            schema_version=1,
            session_id=f"s-{i}",
            policy_name="neural_bandit",
            policy_version="neural_bandit-u0",
            policy_source="triton",
            state=rng.uniform(size=parts.encoder.state_dim).tolist(),
            candidates=candidates.tolist(),
            mask=[True] * K_SYNTHETIC,
            chosen=chosen,
            propensity=1.0 / K_SYNTHETIC,
        )
        reward = Reward(
            reward_id=reward_id_for(context.decision_id, RewardComponent.EARLY, [], final=True),
            decision_id=context.decision_id,
            component=RewardComponent.EARLY,
            value=float(candidates[chosen, 0]),
            final=True,
            event_time=at + timedelta(seconds=1800),
            outcome_event_ids=[],
            policy_name="neural_bandit",
            policy_version="neural_bandit-u0",
            schema_version=1,
            user_id=key,
        )
        contexts.append((key.encode(), encode(context)))
        rewards.append((key.encode(), encode(reward)))
    return contexts, rewards


def _keep_scoring(url: str, shapes: tuple[int, int, int], stop: threading.Event, outcomes: list[bool]) -> None:
    client = PolicyClient(url, timeout_s=10.0)
    rng = np.random.default_rng(3)
    s, k, a = shapes
    try:
        while not stop.is_set():
            try:
                client.score_sync(
                    rng.normal(size=(1, s)).astype(np.float32),
                    rng.normal(size=(1, k, a)).astype(np.float32),
                    np.ones((1, k), dtype=np.bool_),
                )
                outcomes.append(True)
            except InferenceUnavailableError:
                outcomes.append(False)
    finally:
        client.close()


def test_a_promoted_policy_is_hot_swapped_and_later_decisions_log_it(
    topics: Settings, triton: tuple[TritonProcess, Path]
) -> None:
    process, repository = triton
    settings = _settings(topics, process.grpc_url, repository)
    sim = Simulation(SimulationConfig(shoppers=60, duration_s=1800, seed=9, start_time=START))
    catalogue = _catalogue(sim)
    events = [(r.key, r.value) for r in sim.advance(sim.end) if r.kind == "valid"]
    half = len(events) // 2
    decode_decision, decode_context = StructDecoder(Decision).decode, StructDecoder(DecisionContext).decode
    n_partitions = settings.topics.partitions

    # Before any promotion: the rules with exploration decide (decide.first_policy), with exact propensities and a
    # control group on `none`, and every decision's context is published: the logs the first version learns from.
    _decide(settings, events[:half], half, catalogue, ReleaseBoard())
    before = [
        decode_decision(m.value() or b"")
        for m in read_topic(settings.kafka, settings.topics.interventions, n_partitions)
    ]
    contexts = {
        c.decision_id: c
        for c in (
            decode_context(m.value() or b"")
            for m in read_topic(settings.kafka, settings.topics.decision_contexts, n_partitions)
        )
    }
    assert before and {(d.policy_source, d.policy_version) for d in before} == {("rules", "rules-n0")}
    assert any(d.action.type is InterventionType.NONE and d.propensity < 1 for d in before)  # control group drawn
    assert {d.decision_id for d in before} == set(contexts)
    for d in before:
        ctx = contexts[d.decision_id]
        assert ctx.propensity == d.propensity and ctx.candidates and len(ctx.mask) == len(d.candidates)

    # The learner: contexts and final rewards in; a promotion swaps Triton while requests keep being answered.
    synthetic_contexts, synthetic_rewards = _synthetic_rounds(settings, 2000)
    produce_all(settings.kafka, settings.topics.decision_contexts, synthetic_contexts)
    produce_all(settings.kafka, settings.topics.rewards, synthetic_rewards)
    stage = learn_stage(settings)
    shapes = (
        stage.learner.incumbent.scorer.state_dim,
        settings.decide.pad_to,
        stage.learner.incumbent.scorer.action_dim,
    )
    stop, outcomes = threading.Event(), list[bool]()
    scorer = threading.Thread(target=_keep_scoring, args=(process.grpc_url, shapes, stop, outcomes), daemon=True)
    learner = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    scorer.start()
    learner.start()
    try:
        assert stage.promoted.wait(300), [p.decision.reason for p in stage.proposals]
        answered_at_swap = len(outcomes)
        while len(outcomes) < answered_at_swap + 5 and scorer.is_alive():
            stop.wait(0.05)
    finally:
        stop.set()
        learner.join(60)
        scorer.join(60)
    assert outcomes and all(outcomes), f"{outcomes.count(False)} of {len(outcomes)} requests failed across the swap"
    version = stage.learner.model_version
    assert version >= 2
    control = ModelControl(process.grpc_url)
    try:
        assert control.connection.run_sync(control.ready_versions(POLICY_MODEL), 10.0) == [version]
    finally:
        control.connection.close()
    checkpoint = latest_checkpoint(Path(settings.worker.data_dir) / "policies")
    assert checkpoint is not None and checkpoint.model_version == version

    # After it: a worker follows the release, pins Triton to it, and its decisions log the new version.
    board, follow = ReleaseBoard(), threading.Event()
    follower = ReleaseFollower(settings.kafka, settings.topics.policy_releases, board, poll_timeout_s=0.2)
    thread = threading.Thread(target=follower.run, args=(follow,), daemon=True)
    thread.start()
    try:
        assert follower.caught_up.wait(60)
    finally:
        follow.set()
        thread.join(30)
    release = board.latest("neural_bandit")
    assert release is not None and release.model_version == version
    assert release.policy_version == checkpoint.meta["policy_version"] != "neural_bandit-u0"
    _decide(settings, events[half:], len(events), catalogue, board)
    seen = {d.decision_id for d in before}
    after = [
        d
        for d in (
            decode_decision(m.value() or b"")
            for m in read_topic(settings.kafka, settings.topics.interventions, n_partitions)
        )
        if d.decision_id not in seen
    ]
    assert after and {(d.policy_version, d.policy_source) for d in after} == {(release.policy_version, "triton")}

    # The logged scores are the new weights' scores (Triton's answer equals the local copy the release restores).
    local = policy_parts(settings).policy
    restore_weights(local, release.weights, release.updates)
    contexts = {
        c.decision_id: c
        for c in (
            decode_context(m.value() or b"")
            for m in read_topic(settings.kafka, settings.topics.decision_contexts, n_partitions)
        )
    }
    decision = after[0]
    ctx = contexts[decision.decision_id]
    assert ctx.policy_version == release.policy_version
    mask = np.ones((1, len(ctx.candidates)), dtype=np.bool_)
    expected = local.scores(
        np.asarray([ctx.state], dtype=np.float32), np.asarray([ctx.candidates], dtype=np.float32), mask
    )[0]
    np.testing.assert_allclose([c.score for c in decision.candidates], expected, rtol=1e-4, atol=1e-5)
