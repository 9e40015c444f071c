"""Policy versions: checkpoints on disk, weights on the wire, the release board, the configured learner policy."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from agents.learn import ReleaseBoard
from kairos.serving import REPLAY_STRATA, learner_config, policy_parts
from kairos.settings import SettingsError, load_settings
from schemas.codec import StructDecoder, encode
from schemas.contexts import PolicyRelease
from serving.learning import (
    CheckpointError,
    LearnerConfig,
    latest_checkpoint,
    policy_weights,
    restore_weights,
    save_checkpoint,
)
from serving.policy import DQNPolicy, NeuralBandit, PPOPolicy
from tests.unit.learn_support import A, S


def _scores(policy: NeuralBandit) -> np.ndarray:
    rng = np.random.default_rng(0)
    state = rng.normal(size=(1, S)).astype(np.float32)
    candidates = rng.normal(size=(1, 3, A)).astype(np.float32)
    return policy.scores(state, candidates, np.ones((1, 3), dtype=np.bool_))


def test_weights_restore_the_same_scores_and_update_count() -> None:
    trained, fresh = NeuralBandit(S, A, seed=1), NeuralBandit(S, A, seed=2)
    trained.updates = 17
    assert not np.allclose(_scores(trained), _scores(fresh))
    restore_weights(fresh, policy_weights(trained), trained.updates)
    np.testing.assert_array_equal(_scores(trained), _scores(fresh))
    assert fresh.version == trained.version == "neural_bandit-u17"


def test_weights_of_another_layout_are_refused() -> None:
    with pytest.raises(CheckpointError):
        restore_weights(NeuralBandit(S, A), policy_weights(NeuralBandit(S + 1, A)), 0)


def test_checkpoints_keep_the_newest_complete_version(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path / "none") is None
    weights = policy_weights(NeuralBandit(S, A))
    save_checkpoint(tmp_path, 2, weights, {"updates": 5})
    save_checkpoint(tmp_path, 3, weights, {"updates": 9})
    (tmp_path / ".staging-4-deadbeef").mkdir()  # a crash mid-write leaves only a staging folder
    newest = latest_checkpoint(tmp_path)
    assert newest is not None and newest.model_version == 3 and newest.meta == {"updates": 9, "model_version": 3}
    assert newest.weights == weights


def _release(version: int, name: str = "neural_bandit") -> PolicyRelease:
    return PolicyRelease(
        policy_name=name,
        policy_version=f"{name}-u{version}",
        model_version=version,
        updates=version,
        weights=b"\x00\x01",
        event_time=datetime(2026, 11, 1, tzinfo=UTC),
        schema_version=1,
    )


def test_the_board_hands_on_only_newer_releases() -> None:
    board, seen = ReleaseBoard(), list[PolicyRelease]()
    assert board.publish(_release(2))
    board.subscribe(seen.append)  # a late subscriber gets the newest known release at once
    assert not board.publish(_release(2)) and not board.publish(_release(1))
    assert board.publish(_release(3)) and board.publish(_release(1, "dqn"))
    assert [(r.policy_name, r.model_version) for r in seen] == [("neural_bandit", 2), ("neural_bandit", 3), ("dqn", 1)]
    latest = board.latest("neural_bandit")
    assert latest is not None and latest.model_version == 3


def test_a_release_round_trips_with_its_weights() -> None:
    release = _release(4)
    assert StructDecoder(PolicyRelease).decode(encode(release)) == release


def test_the_dqn_learner_follows_the_learn_settings() -> None:
    settings = load_settings({}, learn={"policy": "dqn", "replay_capacity": 700, "target_sync": 250})
    policy = policy_parts(settings).policy
    assert isinstance(policy, DQNPolicy)
    assert policy.target_sync == 250
    assert sum(policy.buffer.capacities.values()) == 700 and set(policy.buffer.capacities) == set(REPLAY_STRATA)


def test_the_default_learner_is_the_bandit_with_the_source_defaults() -> None:
    settings = load_settings({})
    assert isinstance(policy_parts(settings).policy, NeuralBandit)
    assert (settings.learn.replay_capacity, settings.learn.target_sync) == (50_000, 1_000)
    config = learner_config(settings)
    assert (config.margin, config.confidence) == (settings.learn.margin, settings.learn.confidence)


def test_the_ppo_learner_is_selectable_and_its_weights_travel() -> None:
    """``learn.policy = ppo`` (here from the environment) serves and learns PPO; its actor's weights go through the
    same bytes as the other policies' (releases, checkpoints)."""
    policy = policy_parts(load_settings({"KAIROS_LEARN_POLICY": "ppo"})).policy
    assert isinstance(policy, PPOPolicy)
    other = policy_parts(load_settings({}, learn={"policy": "ppo"}, serving={"policy_seed": 99})).policy
    assert isinstance(other, PPOPolicy)
    rng = np.random.default_rng(0)
    state, candidates = rng.normal(size=(1, policy.scorer.state_dim)), rng.normal(size=(1, 3, policy.scorer.action_dim))
    mask = np.ones((1, 3), dtype=np.bool_)
    assert not np.allclose(policy.scores(state, candidates, mask), other.scores(state, candidates, mask))
    restore_weights(other, policy_weights(policy), updates=3)
    assert np.allclose(policy.scores(state, candidates, mask), other.scores(state, candidates, mask))
    assert other.version == "ppo-u3"


def test_an_unknown_policy_kind_is_refused_when_the_settings_load() -> None:
    with pytest.raises(SettingsError, match="learn"):
        load_settings({}, learn={"policy": "a2c"})


def test_an_unknown_estimator_is_refused_when_the_settings_load() -> None:
    with pytest.raises(SettingsError, match="learn"):
        load_settings({}, learn={"estimator": "dm"})


def test_the_learn_settings_default_to_the_learner_cores_defaults() -> None:
    core, settings = LearnerConfig(), load_settings({}).learn
    assert learner_config(load_settings({})) == dataclasses.replace(core, join_capacity=settings.join_capacity)


def _trained_release(settings_seed: int, version: int, updates: int) -> tuple[PolicyRelease, NeuralBandit]:
    policy = policy_parts(load_settings({}, serving={"policy_seed": settings_seed})).policy
    assert isinstance(policy, NeuralBandit)
    policy.updates = updates
    release = PolicyRelease(
        policy_name=policy.name,
        policy_version=policy.version,
        model_version=version,
        updates=updates,
        weights=policy_weights(policy),
        event_time=datetime(2026, 11, 1, tzinfo=UTC),
        schema_version=1,
    )
    return release, policy


def test_the_decision_stage_adopts_newer_releases_between_batches() -> None:
    import msgspec
    from confluent_kafka import Producer

    from featurestore.hot import FeatureCache
    from kairos.serving import decision_stage
    from streams.catalogue import CatalogueTable

    board = ReleaseBoard()
    stage = decision_stage(load_settings({}), FeatureCache(), CatalogueTable(), releases=board)
    producer = cast(Producer, None)  # nothing is produced: no trigger was collected
    release, trained = _trained_release(41, 3, 500)
    board.publish(release)
    assert stage.policy.version == "neural_bandit-u0"  # adopted at the next batch, not mid-batch
    assert stage.first_version == "rules-n0"  # until then the exploring rules decide (decide.first_policy)
    stage.flush(producer, {})
    assert (stage.policy.version, stage.model_version) == ("neural_bandit-u500", 3)
    assert stage.first_version is None  # the learned release decides from now on
    state = np.random.default_rng(0).normal(size=(1, stage.policy.scorer.state_dim)).astype(np.float32)
    candidates = np.random.default_rng(1).normal(size=(1, 4, stage.policy.scorer.action_dim)).astype(np.float32)
    mask = np.ones((1, 4), dtype=np.bool_)
    np.testing.assert_array_equal(stage.policy.scores(state, candidates, mask), trained.scores(state, candidates, mask))
    stage.offer_release(_trained_release(42, 2, 900)[0])  # older than the adopted one: ignored
    stage.offer_release(msgspec.structs.replace(release, model_version=4, weights=b"not weights"))  # unusable: kept
    stage.flush(producer, {})
    assert (stage.policy.version, stage.model_version) == ("neural_bandit-u500", 3)


def test_with_first_policy_served_the_initial_version_decides_from_the_start() -> None:
    from featurestore.hot import FeatureCache
    from kairos.serving import decision_stage
    from streams.catalogue import CatalogueTable

    settings = load_settings({}, decide={"first_policy": "served"})
    assert decision_stage(settings, FeatureCache(), CatalogueTable()).first_version is None
