"""The fast thresholded ROC AUC gives River's values exactly."""

from __future__ import annotations

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
        assert fast.get() == river.get()
        for _ in range(rng.randint(0, 150)):
            y = rng.random() < 0.3
            p = rng.choice([rng.random(), 0.0, 1.0, 1e-6, 1 - 1e-6, rng.choice(grid), float("nan")])
            fast.update(y, p)
            river.update(y, p)
        assert fast.get() == river.get()


def test_binary_score_uses_it() -> None:
    score = BinaryScore()
    assert isinstance(score.roc_auc, ThresholdROCAUC)
    assert score.as_dict() == {"roc_auc": 0.0, "log_loss": 0.0, "labels": 0.0}
