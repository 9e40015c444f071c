"""Progressive validation scores for binary probability models: ROC AUC and log loss from River."""

from __future__ import annotations

import bisect
import math
from typing import Any

from river import metrics
from scipy import integrate

__all__ = ["PROBA_EPSILON", "BinaryScore", "ThresholdROCAUC", "clip_proba"]

PROBA_EPSILON = 1e-6
"""Probabilities are kept in ``[ε, 1 - ε]`` so log loss stays finite."""


def clip_proba(p: float) -> float:
    """Clamp a probability into ``[ε, 1 - ε]``.

    >>> clip_proba(1.7), clip_proba(-0.2), clip_proba(0.25)
    (0.999999, 1e-06, 0.25)
    """
    return min(max(p, PROBA_EPSILON), 1.0 - PROBA_EPSILON)


class ThresholdROCAUC:
    """River's ``metrics.ROCAUC`` (the ROC curve discretised at ``n_thresholds`` thresholds over [0, 1]) with
    ``O(log n)`` updates and the same values, except that it is undefined (NaN) until both classes have been seen.

    River updates one confusion matrix per threshold on every label (~50 Python calls). Here each label is counted
    once, by how many thresholds its probability exceeds; :meth:`get` rebuilds every threshold's counts (exact:
    they are integer-valued floats) and integrates them as River does.

    >>> fast, river = ThresholdROCAUC(20), metrics.ROCAUC(n_thresholds=20)
    >>> for y, p in [(False, 0.1), (False, 0.4), (True, 0.35), (True, 0.8)]:
    ...     fast.update(y, p)
    ...     river.update(y, p)
    >>> bool(fast.get() == river.get() == 0.75)
    True

    With one class only there is no ROC curve: River says 0.0, which reads as "always wrong"; this says NaN.

    >>> one_class = ThresholdROCAUC(20)
    >>> one_class.update(True, 0.9)
    >>> one_class.get()
    nan
    """

    def __init__(self, n_thresholds: int = 10) -> None:
        self.n_thresholds = n_thresholds
        self.thresholds = [i / (n_thresholds - 1) for i in range(n_thresholds)]
        self.thresholds[0] -= 1e-7
        self.thresholds[-1] += 1e-7
        self._positives = [0.0] * (n_thresholds + 1)  # labels by the number of thresholds their probability exceeds
        self._negatives = [0.0] * (n_thresholds + 1)

    def update(self, y_true: bool, y_pred: float) -> None:
        """Count one label with the predicted probability of ``True``."""
        above = bisect.bisect_left(self.thresholds, y_pred)  # how many thresholds t < p (NaN: none, as in River)
        (self._positives if y_true else self._negatives)[above] += 1.0

    def get(self) -> float:
        """The area under the discretised ROC curve (River's value), or NaN before both classes have been seen."""
        positives, negatives = sum(self._positives), sum(self._negatives)
        if not positives or not negatives:
            return math.nan
        tprs, fprs = [0.0] * self.n_thresholds, [0.0] * self.n_thresholds
        tp = fp = 0.0  # labels above threshold i: those exceeding more than i thresholds
        for i in range(self.n_thresholds - 1, -1, -1):
            tp += self._positives[i + 1]
            fp += self._negatives[i + 1]
            tprs[i] = tp / positives
            fprs[i] = fp / negatives
        return float(-integrate.trapezoid(x=fprs, y=tprs))


class BinaryScore:
    """ROC AUC (River's thresholded approximation) and log loss over (label, predicted probability) pairs.

    Update it with the prediction made *before* the model learns from the same label (progressive validation).

    Args:
        n_thresholds: ROC AUC resolution (River's ``ROCAUC(n_thresholds=...)``; computed by :class:`ThresholdROCAUC`).

    >>> score = BinaryScore()
    >>> for y, p in [(True, 0.9), (False, 0.2), (True, 0.6), (False, 0.4)]:
    ...     score.update(y, p)
    >>> score.as_dict()["roc_auc"], score.as_dict()["labels"]
    (1.0, 4.0)
    >>> BinaryScore().as_dict()["roc_auc"]  # no label yet (or one class only): undefined
    nan
    """

    def __init__(self, n_thresholds: int = 50) -> None:
        self.roc_auc = ThresholdROCAUC(n_thresholds)
        self.log_loss = metrics.LogLoss()  # type: ignore[no-untyped-call]
        self.labels = 0

    def update(self, y: bool, p: float) -> None:
        """Record one label and the probability of ``True`` predicted for it."""
        p = clip_proba(p)
        self.roc_auc.update(y, p)
        self.log_loss.update(y, p)
        self.labels += 1

    def as_dict(self) -> dict[str, float]:
        """``roc_auc`` (NaN until both classes were seen), ``log_loss`` (0.0 before the first label) and ``labels``."""
        return {
            "roc_auc": _roc_auc(self.roc_auc) + 0.0,
            "log_loss": float(self.log_loss.get()),  # type: ignore[no-untyped-call]
            "labels": float(self.labels),
        }


def _roc_auc(metric: ThresholdROCAUC | Any) -> float:
    """The metric's value; NaN also for River's ``ROCAUC`` (in checkpoints older than :class:`ThresholdROCAUC`)
    when it has seen one class only (River says 0.0 then)."""
    if isinstance(metric, ThresholdROCAUC):
        return metric.get()
    seen = metric.cms[0].sum_row  # labels by true class
    return float(metric.get()) if seen.get(True) and seen.get(False) else math.nan
