"""compute_features: validated events in; user and session features out to the hot copy and Feast.

Runs on a :class:`~streams.batch_loop.BatchLoop` (group ``<namespace>-features``) over ``kairos.events.v1``. Per
owned partition it keeps a :class:`~streams.features.FeatureState` (co-partitioned by user, so a user's and a
session's state live in one place). Per batch: apply every event (late ones are dead-lettered with ``late_event``),
build the rows of the entities that changed, put them in the in-process :class:`~featurestore.hot.FeatureCache`
(what decisions read) and offer them to the coalescing Feast writer (what other services read). Every applied event
also goes to the partition's River :class:`~serving.models.ModelSuite` with its session's and user's rows as of the
event (delayed labels: abandonment and propensity learn at session end or purchase, offer acceptance on responses);
their progressive metrics are on ``/metrics`` as ``kairos_model_metric``.

Restarts: user histories outlive the topic's retention, so the state (features and models) is checkpointed to
the worker's disk with the next input offset, after the pending Feast rows are written. On assignment the checkpoint
is loaded and the input is replayed from its offset up to where consumption resumes, re-deriving (idempotently
re-writing) every row changed since. Product features need every partition's activity: events that change a
product are re-keyed by product id to ``kairos.events.by-product.v1`` for the product stage
(:mod:`agents.compute_product_features`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import Message, Producer

from agents.dead_letter import send_dead_letter
from agents.decide import DecisionStage, PartitionGuards
from featurestore.hot import FeatureCache
from schemas.codec import EventDecoder
from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import Event
from serving.models import ModelSuite
from serving.models.inputs import FeatureRow
from streams.checkpoint import PartitionCheckpoints
from streams.config import KafkaConfig, TopicsConfig
from streams.features import ChangedKeys, FeatureConfig, FeatureState
from streams.metrics import FEATURE_EVENTS, MODEL_METRIC
from streams.reader import read_range

__all__ = ["FeatureHandler", "RowSink", "learn_from_event"]

logger = logging.getLogger(__name__)

STAGE = "features"
USER_VIEW, SESSION_VIEW = "kairos_user", "kairos_session"


class RowSink(Protocol):
    """Where rows go besides the hot copy: the coalescing Feast writer (``offer``/``flush``)."""

    def offer(self, view: str, rows: dict[str, dict[str, Any]]) -> None: ...

    def flush(self) -> None: ...


class FeatureHandler:
    """The feature stage's :class:`~streams.batch_loop.BatchHandler`."""

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: TopicsConfig,
        cache: FeatureCache,
        sink: RowSink,
        checkpoint_dir: Path,
        *,
        config: FeatureConfig | None = None,
        decide: DecisionStage | None = None,
        checkpoint_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self._source = topics.events
        self._dead = topics.dead_letters
        self._by_product = topics.events_by_product
        self._cache = cache
        self._sink = sink
        self._config = config or FeatureConfig()
        self._clock = clock
        self._decode = EventDecoder().decode
        self._decide = decide
        self.checkpoints: PartitionCheckpoints[tuple[FeatureState, ModelSuite, PartitionGuards | None]] = (
            PartitionCheckpoints(
                checkpoint_dir, STAGE, self._source, before_save=sink.flush, every_s=checkpoint_every_s, clock=clock
            )
        )

    def _fresh(self, partition: int) -> tuple[FeatureState, ModelSuite, PartitionGuards | None]:
        guards = self._decide.fresh_guards() if self._decide is not None else None
        return FeatureState(self._config), ModelSuite(seed=partition), guards

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Load the partition's checkpoint and replay the input from it up to ``committed``."""
        start, (state, models, guards) = self.checkpoints.restore(partition, lambda: self._fresh(partition))
        replayed = 0
        changed: dict[str, set[str]] = {"user": set(), "session": set()}
        for msg in read_range(self._kafka, topic, partition, start, max(committed, 0)):
            event = self._decode(msg.value() or b"")
            keys = state.apply(event)
            if not keys.late:
                _collect(keys, changed)
                learn_from_event(models, state, event, keys)
                if self._decide is not None and guards is not None:
                    self._decide.replay(event, guards)  # decisions were published before: guard inputs only
            replayed += 1
        self.checkpoints.adopt(partition, (state, models, guards), start, committed)
        self._publish(state, changed)
        logger.info(
            "features partition=%s checkpoint_offset=%s committed=%s replayed=%s", partition, start, committed, replayed
        )

    def revoked(self, topic: str, partition: int) -> None:
        """Checkpoint and forget the partition."""
        self.checkpoints.release(partition)

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Apply one batch, then publish the changed rows once per entity."""
        changed: dict[int, dict[str, set[str]]] = {}
        late: Counter[int] = Counter()
        checkpoints = self.checkpoints
        for msg in messages:
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if checkpoints.covers(partition, offset):
                continue
            state, models, guards = checkpoints.states[partition]
            try:
                event = self._decode(msg.value() or b"")
            except PoisonMessageError as exc:
                self._dead_letter(producer, msg, exc)
                continue
            keys = state.apply(event)
            if keys.late:
                late[partition] += 1
                self._dead_letter(
                    producer,
                    msg,
                    PoisonMessageError(
                        DeadLetterReason.LATE_EVENT,
                        f"event_time {event.event_time.isoformat()} is older than the partition's watermark minus "
                        f"the allowed lateness ({self._config.allowed_lateness_s:.0f}s)",
                        "$.event_time",
                    ),
                )
            else:
                _collect(keys, changed.setdefault(partition, {"user": set(), "session": set()}))
                user_row, session_row = learn_from_event(models, state, event, keys)
                if self._decide is not None and guards is not None:
                    self._decide.collect(
                        partition, event, user_row=user_row, session_row=session_row, models=models, guards=guards
                    )
                for product_id in keys.product_ids:
                    # Re-keyed for the product stage; a replay may send a copy twice, which it de-duplicates.
                    producer.produce(self._by_product, msg.value(), product_id.encode())
            checkpoints.advance(partition, offset)
        if self._decide is not None:
            self._decide.flush(producer, {p: g for p, (_, _, g) in checkpoints.states.items() if g is not None})
        for partition, entity_keys in changed.items():
            state, models, _ = checkpoints.states[partition]
            self._publish(state, entity_keys)
            for name, value in models.metrics().items():
                MODEL_METRIC.labels(str(partition), name).set(value)
        FEATURE_EVENTS.labels("applied").inc(len(messages) - sum(late.values()))
        FEATURE_EVENTS.labels("late").inc(sum(late.values()))
        checkpoints.maybe_save()

    def _publish(self, state: FeatureState, keys: dict[str, set[str]]) -> None:
        now = datetime.fromtimestamp(state.watermark / 1e6, UTC) if state.watermark > 0 else datetime.now(UTC)
        users: dict[str, dict[str, Any]] = {}
        for user_key in keys["user"]:
            row = state.user_row(user_key, now)
            if row is not None:
                users[user_key] = row
        sessions: dict[str, dict[str, Any]] = {}
        for session_id in keys["session"]:
            row = state.session_row(session_id, now)
            if row is not None:
                sessions[session_id] = row
        self._cache.put("user", users)
        self._cache.put("session", sessions)
        self._sink.offer(USER_VIEW, {k: {**r, "user_id": k, "event_timestamp": now} for k, r in users.items()})
        self._sink.offer(SESSION_VIEW, {k: {**r, "session_id": k, "event_timestamp": now} for k, r in sessions.items()})

    def _dead_letter(self, producer: Producer, msg: Message, error: PoisonMessageError) -> None:
        send_dead_letter(producer, msg, error, stage=STAGE, topic=self._dead, now_s=self._clock())


def learn_from_event(
    models: ModelSuite, state: FeatureState, event: Event, keys: ChangedKeys
) -> tuple[FeatureRow | None, FeatureRow | None]:
    """Let the River models see the event with its session's and user's rows as of the event.

    The rows are built fresh here and kept by the models by reference (their pending snapshots): never modify them.

    Returns:
        Those rows (user, session), for a decision on this event (which asks ``models.session_scores`` for the
        session's scores).
    """
    at = event.event_time
    session_row = state.session_row(keys.session_id, at) if keys.session_id is not None else None
    user_row = state.user_row(event.partition_key, at)
    models.observe(event, session_row, user_row)
    return user_row, session_row


def _collect(keys: ChangedKeys, into: dict[str, set[str]]) -> None:
    if keys.user_key is not None:
        into["user"].add(keys.user_key)
    if keys.session_id is not None:
        into["session"].add(keys.session_id)
