"""Progressive validation scores for binary probability models: ROC AUC and log loss from River."""

from __future__ import annotations

from river import metrics

__all__ = ["PROBA_EPSILON", "BinaryScore", "clip_proba"]

PROBA_EPSILON = 1e-6
"""Probabilities are kept in ``[ε, 1 - ε]`` so log loss stays finite."""


def clip_proba(p: float) -> float:
    """Clamp a probability into ``[ε, 1 - ε]``.

    >>> clip_proba(1.7), clip_proba(-0.2), clip_proba(0.25)
    (0.999999, 1e-06, 0.25)
    """
    return min(max(p, PROBA_EPSILON), 1.0 - PROBA_EPSILON)


class BinaryScore:
    """ROC AUC (River's thresholded approximation) and log loss over (label, predicted probability) pairs.

    Update it with the prediction made *before* the model learns from the same label (progressive validation).

    Args:
        n_thresholds: ROC AUC resolution (River's ``ROCAUC(n_thresholds=...)``).

    >>> score = BinaryScore()
    >>> for y, p in [(True, 0.9), (False, 0.2), (True, 0.6), (False, 0.4)]:
    ...     score.update(y, p)
    >>> score.as_dict()["roc_auc"], score.as_dict()["labels"]
    (1.0, 4.0)
    """

    def __init__(self, n_thresholds: int = 50) -> None:
        self.roc_auc = metrics.ROCAUC(n_thresholds=n_thresholds)  # type: ignore[no-untyped-call]
        self.log_loss = metrics.LogLoss()  # type: ignore[no-untyped-call]
        self.labels = 0

    def update(self, y: bool, p: float) -> None:
        """Record one label and the probability of ``True`` predicted for it."""
        p = clip_proba(p)
        self.roc_auc.update(y, p)  # type: ignore[no-untyped-call]
        self.log_loss.update(y, p)
        self.labels += 1

    def as_dict(self) -> dict[str, float]:
        """``roc_auc``, ``log_loss`` and ``labels`` (0.0 for both scores before the first label)."""
        return {
            "roc_auc": float(self.roc_auc.get()) + 0.0,  # type: ignore[no-untyped-call]
            "log_loss": float(self.log_loss.get()),  # type: ignore[no-untyped-call]
            "labels": float(self.labels),
        }
