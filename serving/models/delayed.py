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
    """What a session's label will be learned from: the rows seen, when, and (once computed) their inputs and the
    probability served for them.

    Attributes:
        t: event time of the rows.
        x: the model inputs of the rows, ``None`` until first needed.
        p: the probability served for these rows; ``None`` until something asks for it (a ``keep="first"``
            snapshot is scored when taken).
        rows: the feature rows, by reference (merged left to right: a later row's keys win); rows are never
            modified after they are built, so keeping the reference is safe.
    """

    t: datetime
    x: dict[str, float] | None
    p: float | None
    rows: tuple[FeatureRow, ...] = ()


class DelayedLabelClassifier:
    """``StandardScaler | LogisticRegression`` on feature rows, learning when a session's outcome is known.

    :meth:`observe_one` remembers a session's rows as a :class:`Snapshot` (the latest one, or the first one, per
    ``keep``). A ``latest`` snapshot is replaced on every event, so it is stored *unscored*: the feature rows are kept
    by reference and vectorised only when needed. A ``first`` snapshot is taken once per session, so it is scored
    when taken (cheap, and its metric is exactly that of scoring every event).
    :meth:`predict_pending_one` scores rows on request; when they are the rows of the session's pending snapshot,
    the answer is recorded as that snapshot's served probability. :meth:`predict_proba_one` does both (remember,
    then score). :meth:`label` pops the snapshot, updates the progressive score, then learns from it.

    **Progressive validation rule.** The probability a label is scored against always comes from the model *before*
    it learns that label: the probability served for the snapshot if one was asked for, else the model's
    probability for the snapshot's inputs computed at label time, just before learning. Both are honest
    (out-of-sample); the second uses a model that may have learned other sessions' labels since the snapshot was
    taken, so it can differ slightly from scoring every event eagerly. When no label is learned between a snapshot
    and its label, the two are identical. What is *learned* (the snapshot's inputs and the label) does not depend on
    whether anything asked.

    Memory is bounded: at most ``max_pending`` sessions wait for a label (the least recently snapshotted is evicted
    first) and a snapshot older than ``max_age`` of event time (measured against the ``t`` of later calls) is
    dropped unlabelled. Evictions are counted, never learned from.

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

    def _vector(self, rows: tuple[FeatureRow, ...]) -> dict[str, float]:
        if len(rows) == 1:
            return to_vector(rows[0], self.inputs)
        merged: dict[str, object] = {}
        for row in rows:
            merged.update(row)
        return to_vector(merged, self.inputs)

    def observe_one(self, session_id: str, t: datetime, *rows: FeatureRow) -> None:
        """Remember a session's feature rows as its snapshot (per ``keep``), without scoring them.

        Args:
            session_id: the session the rows describe.
            t: event time of the rows; drives age-based eviction.
            *rows: the feature rows (contract names), merged left to right; kept by reference, never modified.
                With ``keep="first"``, a new snapshot is scored at once (its probability counts as served).
        """
        self._expire(t)
        if session_id in self._pending:
            if self.keep == "latest":
                self._pending[session_id] = Snapshot(t, None, None, rows)
                self._pending.move_to_end(session_id)
        else:
            if self.keep == "first":  # taken once per session, so scored when taken, as if served
                x = self._vector(rows)
                self._pending[session_id] = Snapshot(t, x, self._proba(x), rows)
            else:
                self._pending[session_id] = Snapshot(t, None, None, rows)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.evicted += 1

    def predict_pending_one(self, session_id: str, *rows: FeatureRow) -> float:
        """Score rows; when they are the session's pending snapshot (the same row objects), record the answer as the
        probability served for it, which its label will then be scored against.

        Args:
            session_id: the session the rows describe.
            *rows: the feature rows, merged left to right (not modified).

        Returns:
            The probability of the positive class, in ``[ε, 1 - ε]``.
        """
        snapshot = self._pending.get(session_id)
        if snapshot is not None and snapshot.p is None and _same_rows(snapshot.rows, rows):
            x = snapshot.x if snapshot.x is not None else self._vector(rows)
            p = self._proba(x)
            self._pending[session_id] = Snapshot(snapshot.t, x, p, snapshot.rows)
            return p
        return self._proba(self._vector(rows))

    def predict_proba_one(self, session_id: str, features: FeatureRow, t: datetime) -> float:
        """Remember the row as the session's snapshot (per ``keep``), then score it (:meth:`observe_one`, then
        :meth:`predict_pending_one`).

        Args:
            session_id: the session the row describes.
            features: the feature row (contract names; not modified).
            t: event time of the row; drives age-based eviction.

        Returns:
            The probability of the positive class, in ``[ε, 1 - ε]``.
        """
        self.observe_one(session_id, t, features)
        return self.predict_pending_one(session_id, features)

    def label(self, session_id: str, purchased: bool) -> float | None:
        """Learn a session's outcome from its remembered snapshot (score first, then learn).

        Args:
            session_id: the session whose outcome is now known.
            purchased: whether it ended with a purchase.

        Returns:
            The probability the label was scored against (the served one, else the model's before learning, see
            the class docstring), or ``None`` when no snapshot is pending (never observed, already labelled, or
            evicted).
        """
        snapshot = self._pending.pop(session_id, None)
        if snapshot is None:
            return None
        x = snapshot.x if snapshot.x is not None else self._vector(snapshot.rows)
        p = snapshot.p if snapshot.p is not None else self._proba(x)
        y = self._target(purchased)
        self.score.update(y, p)
        self.model.learn_one(x, y)
        return p

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


def _same_rows(a: tuple[FeatureRow, ...], b: tuple[FeatureRow, ...]) -> bool:
    """Whether two row tuples hold the same row objects."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
