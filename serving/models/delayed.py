"""A logistic model over feature rows whose labels arrive later, keyed by session, with bounded pending memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from river import compose, linear_model, optim, preprocessing

from schemas.features import FeatureSpec
from serving.models.errors import ModelConfigError
from serving.models.inputs import FeatureRow, to_vector
from serving.models.scoring import BinaryScore, clip_proba

__all__ = ["DelayedLabelClassifier", "Snapshot"]

Keep = Literal["latest", "first"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a session's label will be learned from: the inputs, when they were seen, what was predicted from them."""

    t: datetime
    x: dict[str, float]
    p: float


class DelayedLabelClassifier:
    """``StandardScaler | LogisticRegression`` on feature rows, learning when a session's outcome is known.

    :meth:`predict_proba_one` scores a row and remembers a :class:`Snapshot` for the session (the latest one, or the
    first one, per ``keep``). :meth:`label` pops the snapshot, updates the progressive score with the probability
    that was served from it, then learns from it. Memory is bounded: at most ``max_pending`` sessions wait for a
    label (the least recently snapshotted is evicted first) and a snapshot older than ``max_age`` of event time
    (measured against the ``t`` of later calls) is dropped unlabelled. Evictions are counted, never learned from.

    Args:
        inputs: the feature specs read from the row.
        keep: ``"latest"`` overwrites a session's snapshot on every call; ``"first"`` keeps its first one.
        max_pending: most sessions awaiting a label.
        max_age: longest event-time wait for a label.
        learning_rate: SGD step of the logistic regression.
        l2: L2 penalty of the logistic regression.

    Raises:
        ModelConfigError: a bound or rate is not positive.
    """

    def __init__(
        self,
        inputs: tuple[FeatureSpec, ...],
        *,
        keep: Keep,
        max_pending: int = 100_000,
        max_age: timedelta = timedelta(hours=6),
        learning_rate: float = 0.05,
        l2: float = 1e-4,
    ) -> None:
        if max_pending < 1:
            raise ModelConfigError(f"max_pending must be >= 1, got {max_pending}")
        if max_age <= timedelta(0):
            raise ModelConfigError(f"max_age must be positive, got {max_age}")
        if learning_rate <= 0 or l2 < 0:
            raise ModelConfigError(f"need learning_rate > 0 and l2 >= 0, got {learning_rate=} {l2=}")
        self.inputs = inputs
        self.keep: Keep = keep
        self.max_pending = max_pending
        self.max_age = max_age
        self.model: compose.Pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(learning_rate), l2=l2
        )
        self.score = BinaryScore()
        self.evicted = 0
        self._pending: OrderedDict[str, Snapshot] = OrderedDict()

    def _target(self, purchased: bool) -> bool:
        """The label learned for a session with this outcome (subclasses choose the positive class)."""
        raise NotImplementedError

    def _proba(self, x: dict[str, float]) -> float:
        return clip_proba(float(self.model.predict_proba_one(x).get(True, 0.5)))

    def predict_proba_one(self, session_id: str, features: FeatureRow, t: datetime) -> float:
        """Score a session from its feature row and remember the snapshot its label will be learned from.

        Args:
            session_id: the session the row describes.
            features: the feature row (contract names; not modified).
            t: event time of the row; drives age-based eviction.

        Returns:
            The probability of the positive class, in ``[ε, 1 - ε]``.
        """
        x = to_vector(features, self.inputs)
        p = self._proba(x)
        self._expire(t)
        if session_id in self._pending:
            if self.keep == "latest":
                self._pending[session_id] = Snapshot(t, x, p)
                self._pending.move_to_end(session_id)
        else:
            self._pending[session_id] = Snapshot(t, x, p)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.evicted += 1
        return p

    def label(self, session_id: str, purchased: bool) -> float | None:
        """Learn a session's outcome from its remembered snapshot (score first, then learn).

        Args:
            session_id: the session whose outcome is now known.
            purchased: whether it ended with a purchase.

        Returns:
            The probability that had been served from the snapshot, or ``None`` when no snapshot is pending
            (never scored, already labelled, or evicted).
        """
        snapshot = self._pending.pop(session_id, None)
        if snapshot is None:
            return None
        y = self._target(purchased)
        self.score.update(y, snapshot.p)
        self.model.learn_one(snapshot.x, y)
        return snapshot.p

    def learn_one(self, features: FeatureRow, y: bool) -> None:
        """Learn one labelled row at once, without the pending memory (backfills, replays); scored progressively."""
        x = to_vector(features, self.inputs)
        self.score.update(y, self._proba(x))
        self.model.learn_one(x, y)

    def forget(self, session_id: str) -> None:
        """Drop a session's snapshot without learning from it."""
        self._pending.pop(session_id, None)

    @property
    def pending(self) -> int:
        """Sessions currently awaiting a label."""
        return len(self._pending)

    def metrics(self) -> dict[str, float]:
        """Progressive ``roc_auc`` and ``log_loss``, plus ``labels``, ``pending`` and ``evicted`` counts."""
        return {**self.score.as_dict(), "pending": float(self.pending), "evicted": float(self.evicted)}

    def _expire(self, t: datetime) -> None:
        horizon = t - self.max_age
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if oldest.t >= horizon:
                return
            self._pending.popitem(last=False)
            self.evicted += 1
