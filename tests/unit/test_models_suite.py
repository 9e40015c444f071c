"""ModelSuite over a simulator stream: it runs, its metrics are finite, and a pickled checkpoint predicts alike."""

from __future__ import annotations

import math
import pickle
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.codec import EventDecoder
from schemas.events import Event
from serving.models import ModelSuite, SessionScores
from simulator import Simulation, SimulationConfig
from streams.features import FeatureState
from tests.unit.sim_policy import RULE_TRIGGERS, apply_rule

START = datetime(2025, 3, 1, tzinfo=UTC)
Observation = tuple[Event, Any, Any]


@pytest.fixture(scope="module")
def observations() -> list[Observation]:
    """4 h, 500 shoppers; a fixed rule shows a discount at exit intent and an upsell after add to cart."""
    decoder = EventDecoder()
    sim = Simulation(SimulationConfig(shoppers=500, duration_s=4 * 3600, seed=1, start_time=START))
    state, out, t, n = FeatureState(), [], 0.0, 0
    while sim.now < sim.end:
        t += 5.0
        for record in sim.advance(t):
            if record.kind != "valid":
                continue
            event = decoder.decode(record.value)
            state.apply(event)
            now = event.event_time
            out.append((event, state.session_row(event.session_id, now), state.user_row(event.partition_key, now)))
            if event.event_type in RULE_TRIGGERS:
                n += 1
                apply_rule(sim, record, event, n)
    return out


def _run(suite: ModelSuite, observations: list[Observation]) -> float:
    start = time.perf_counter()
    for event, session_row, user_row in observations:
        suite.learn_one(event, session_row, user_row)
    return (time.perf_counter() - start) / len(observations) * 1e6


def test_suite_runs_over_the_simulator_stream(observations: list[Observation]) -> None:
    suite = ModelSuite(seed=1)
    micros = _run(suite, observations)
    metrics = suite.metrics()
    print(f"\nModelSuite: {len(observations)} events, {micros:.1f} us/event")  # reported, never asserted
    for name, value in sorted(metrics.items()):
        print(f"  {name} = {value:.4f}")
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["events"] == len(observations)
    assert metrics["abandonment_labels"] > 400
    assert metrics["propensity_labels"] == metrics["abandonment_labels"]
    assert metrics["offer_acceptance_labels"] > 0
    assert metrics["segments_learned"] > 0
    assert 0.0 <= metrics["abandonment_roc_auc"] <= 1.0


def test_restored_checkpoint_predicts_identically(observations: list[Observation]) -> None:
    half = len(observations) // 2
    suite = ModelSuite(seed=1)
    _run(suite, observations[:half])
    restored = pickle.loads(pickle.dumps(suite))
    _run(suite, observations[half:])
    _run(restored, observations[half:])
    assert suite.metrics() == restored.metrics()
    for event, session_row, user_row in observations[-200:]:
        row = {**(user_row or {}), **(session_row or {})}
        t, user = event.event_time, event.partition_key
        assert suite.abandonment.predict_proba_one("probe", row, t) == restored.abandonment.predict_proba_one(
            "probe", row, t
        )
        assert suite.offers.predict_proba_one(user, "type:discount") == restored.offers.predict_proba_one(
            user, "type:discount"
        )
        assert suite.segments.predict_one(user_row or {}) == restored.segments.predict_one(user_row or {})


def test_same_seed_same_stream_same_metrics(observations: list[Observation]) -> None:
    a, b = ModelSuite(seed=3), ModelSuite(seed=3)
    _run(a, observations)
    _run(b, observations)
    assert a.metrics() == b.metrics()


def test_asking_for_scores_changes_no_learning(observations: list[Observation]) -> None:
    """A suite asked for its session scores on every event (what decisions would see) and one never asked learn
    the same models; the never-asked one scores abandonment labels at label time (see DelayedLabelClassifier)."""
    asked, lazy = ModelSuite(seed=1), ModelSuite(seed=1)
    for event, session_row, user_row in observations:
        asked.learn_one(event, session_row, user_row)
        scores = asked.predict_one(event.session_id, session_row, user_row)
        lazy.learn_one(event, session_row, user_row)
        if event.event_type in ("purchase", "session_end"):
            assert scores == SessionScores()
        elif scores.abandonment is not None:
            assert scores == lazy.predict_one(event.session_id, session_row, user_row)
    a, b = asked.metrics(), lazy.metrics()
    assert {k: v for k, v in a.items() if not k.startswith("abandonment_")} == {
        k: v for k, v in b.items() if not k.startswith("abandonment_")
    }
    assert a["abandonment_labels"] == b["abandonment_labels"]
    assert abs(a["abandonment_log_loss"] - b["abandonment_log_loss"]) < 0.02
    assert abs(a["abandonment_roc_auc"] - b["abandonment_roc_auc"]) < 0.02
    for _, session_row, user_row in observations[-200:]:
        row = {**(user_row or {}), **(session_row or {})}
        assert asked.abandonment.predict_pending_one("probe", row) == lazy.abandonment.predict_pending_one("probe", row)
