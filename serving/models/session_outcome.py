"""Session outcome models: P(abandonment) from the live session, P(purchase) from the user at session start."""

from __future__ import annotations

from datetime import timedelta

from serving.models.delayed import DelayedLabelClassifier
from serving.models.inputs import SESSION_INPUTS, USER_INPUTS

__all__ = ["AbandonmentModel", "PurchasePropensityModel"]


class AbandonmentModel(DelayedLabelClassifier):
    """P(the session ends without a purchase), from the merged session + user feature row.

    Keeps each session's *latest* snapshot; the label arrives at the session's first purchase (``False``) or at its
    ``session_end`` (``True``). See :class:`~serving.models.delayed.DelayedLabelClassifier` for the memory bounds.

    >>> from datetime import datetime, timezone
    >>> model, t = AbandonmentModel(), datetime(2025, 1, 1, tzinfo=timezone.utc)
    >>> model.predict_proba_one("s1", {"cart_value": 40.0, "checkout_started": True}, t)
    0.5
    >>> model.label("s1", purchased=True), model.metrics()["labels"]
    (0.5, 1.0)
    """

    def __init__(
        self,
        *,
        max_pending: int = 100_000,
        max_age: timedelta = timedelta(hours=6),
        learning_rate: float = 0.05,
        l2: float = 1e-4,
    ) -> None:
        super().__init__(
            SESSION_INPUTS + USER_INPUTS,
            keep="latest",
            max_pending=max_pending,
            max_age=max_age,
            learning_rate=learning_rate,
            l2=l2,
        )

    def _target(self, purchased: bool) -> bool:
        return not purchased


class PurchasePropensityModel(DelayedLabelClassifier):
    """P(the session ends with a purchase), from the *user* feature row as it was when the session started.

    A prior for the first decision of a session, before there is session behaviour to read: it keeps each session's
    *first* snapshot and reads user features only. Same labels and memory bounds as :class:`AbandonmentModel`.
    """

    def __init__(
        self,
        *,
        max_pending: int = 100_000,
        max_age: timedelta = timedelta(hours=6),
        learning_rate: float = 0.05,
        l2: float = 1e-4,
    ) -> None:
        super().__init__(
            USER_INPUTS,
            keep="first",
            max_pending=max_pending,
            max_age=max_age,
            learning_rate=learning_rate,
            l2=l2,
        )

    def _target(self, purchased: bool) -> bool:
        return purchased
