"""The fast thresholded ROC AUC gives River's values exactly, and NaN (undefined) where River says 0.0 for one class."""

from __future__ import annotations

import math
import pickle
import random
from typing import Any

import pytest
from river import metrics

from serving.models.scoring import BinaryScore, ThresholdROCAUC


def _river_roc_auc(n_thresholds: int) -> Any:
    """River's metric (its methods are untyped)."""
    return metrics.ROCAUC(n_thresholds=n_thresholds)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("n_thresholds", [2, 3, 10, 50])
def test_threshold_roc_auc_equals_rivers(n_thresholds: int) -> None:
    rng = random.Random(n_thresholds)
    grid = [i / (n_thresholds - 1) for i in range(n_thresholds)]
    for _ in range(40):
        fast, river = ThresholdROCAUC(n_thresholds), _river_roc_auc(n_thresholds)
        labels = set()
        for _ in range(rng.randint(0, 150)):
            y = rng.random() < 0.3
            p = rng.choice([rng.random(), 0.0, 1.0, 1e-6, 1 - 1e-6, rng.choice(grid), float("nan")])
            fast.update(y, p)
            river.update(y, p)
            labels.add(y)
        if labels == {True, False}:
            assert fast.get() == river.get()
        else:
            assert math.isnan(fast.get())


@pytest.mark.parametrize("label", [True, False])
def test_roc_auc_over_one_class_is_undefined_not_zero(label: bool) -> None:
    """A partition that has seen only purchases (or only abandonments) has no ROC curve: NaN, not River's 0.0,
    however many labels; the first label of the other class makes it defined."""
    score, river = BinaryScore(), _river_roc_auc(50)
    for i in range(45):
        score.update(label, (i % 10) / 10)
        river.update(label, (i % 10) / 10)
    assert river.get() == 0.0
    assert math.isnan(score.as_dict()["roc_auc"])
    assert score.as_dict()["labels"] == 45.0
    score.update(not label, 0.95)
    assert 0.0 <= score.as_dict()["roc_auc"] <= 1.0


def test_binary_score_uses_it() -> None:
    score = BinaryScore()
    assert isinstance(score.roc_auc, ThresholdROCAUC)
    metrics = score.as_dict()
    assert math.isnan(metrics.pop("roc_auc"))
    assert metrics == {"log_loss": 0.0, "labels": 0.0}


@pytest.mark.parametrize("both_classes", [True, False])
def test_rivers_roc_auc_from_an_old_checkpoint_is_undefined_over_one_class(both_classes: bool) -> None:
    """Checkpoints written before ThresholdROCAUC hold River's metric; it gets the same NaN over one class."""
    score = BinaryScore()
    score.roc_auc = _river_roc_auc(50)
    for y, p in [(True, 0.9), (not both_classes, 0.2), (True, 0.6)]:
        score.update(y, p)
    restored = pickle.loads(pickle.dumps(score)).as_dict()["roc_auc"]
    if both_classes:
        assert restored == 1.0
    else:
        assert math.isnan(restored)
