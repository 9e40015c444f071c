"""compute_features: validated events in; user and session features out to the hot copy and Feast.

Runs on a :class:`~streams.batch_loop.BatchLoop` (group ``<namespace>-features``) over ``kairos.events.v1``. Per
owned partition it keeps a :class:`~streams.features.FeatureState` (co-partitioned by user, so a user's and a
session's state live in one place). Per batch: apply every event (late ones are dead-lettered with ``late_event``),
build the rows of the entities that changed, put them in the in-process :class:`~featurestore.hot.FeatureCache`
(what decisions read) and offer them to the coalescing Feast writer (what other services read). Every applied event
also goes to the partition's River :class:`~serving.models.ModelSuite` with its session's and user's rows as of the
event (delayed labels: abandonment and propensity learn at session end or purchase, offer acceptance on responses);
their progressive metrics are on ``/metrics`` as ``kairos_model_metric``.

Chat texts: the ``last_intent`` / ``last_sentiment`` features come from Triton's ``kairos_intent`` (all-MiniLM-L6-v2
plus the intent head) when a :class:`TextClassifier` is configured. Before applying a batch, the stage sends the
batch's chat texts in one request with a short deadline (``serving.intent_timeout_ms``); batches without chat events
make no call, so the decision path waits only on batches that carry chat. When the call fails or misses its
deadline, or no classifier is configured, the lexicon (:class:`~streams.features.LexiconTextSignals`) reads them.
``kairos_text_signals{source,reason}`` counts which source read each text and why the lexicon stood in.

Restarts: user histories outlive the topic's retention, so the state (features and models) is checkpointed to
the worker's disk with the next input offset, after the pending Feast rows are written. On assignment the checkpoint
is loaded and the input is replayed from its offset up to where consumption resumes, re-deriving (idempotently
re-writing) every row changed since. Product features need every partition's activity: events that change a
product are re-keyed by product id to ``kairos.events.by-product.v1`` for the product stage
(:mod:`agents.compute_product_features`).

Erasure (``kairos forget``, docs/privacy.md): an erasure record on the events topic (a tombstone keyed by the
shopper's pseudonym, header ``kairos.erase``) drops, in order with the shopper's events on the partition, the user
state, the guard state and the hot row, and erases the user row from Feast's online store and parquet history; the
triggers collected before it are decided first, so no later write brings any of it back.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from confluent_kafka import Message, Producer

from agents.dead_letter import send_dead_letter
from agents.decide import DecisionStage, PartitionGuards
from featurestore.hot import FeatureCache
from schemas.codec import EventDecoder
from schemas.errors import DeadLetterReason, PoisonMessageError, TransientError
from schemas.events import ChatMessage, Event
from serving.concierge.intent import FEATURE_INTENT, INTENT_CLASSES
from serving.inference import IntentClient
from serving.models import ModelSuite
from serving.models.inputs import FeatureRow
from streams.checkpoint import PartitionCheckpoints
from streams.config import KafkaConfig, TopicsConfig
from streams.features import ChangedKeys, ClassifiedTextSignals, FeatureConfig, FeatureState, TextSignal
from streams.metrics import FEATURE_EVENTS, MODEL_METRIC, TEXT_SIGNAL_SECONDS, TEXT_SIGNALS
from streams.provenance import last_emitted_offset
from streams.pseudonym import erased_key
from streams.reader import read_range

__all__ = [
    "EncoderTextClassifier",
    "FeatureHandler",
    "RowSink",
    "TextClassifier",
    "learn_from_event",
    "read_chat_texts",
    "signals_from_scores",
]

logger = logging.getLogger(__name__)

STAGE = "features"
USER_VIEW, SESSION_VIEW = "kairos_user", "kairos_session"
#: decimals kept of the encoder's sentiment: rows do not depend on float noise from the batch a text was sent in.
SENTIMENT_DECIMALS = 3
_REPLAY_CHUNK = 256
#: Decision records a restart re-reads per output partition: more than one batch can publish (a batch holds at most
#: ``ingest.batch_size`` = 5,000 events), so every decision after the last commit is among them.
DECISION_RECOVERY_TAIL = 10_000


class RowSink(Protocol):
    """Where rows go besides the hot copy: the coalescing Feast writer (``offer``/``flush``)."""

    def offer(self, view: str, rows: dict[str, dict[str, Any]]) -> None: ...

    def flush(self) -> None: ...

    def forget(self, view: str, keys: Iterable[str], join_key: str) -> None: ...


class _Erasure:
    """An erasure record of the events topic, decoded: the partition key it erases."""

    __slots__ = ("user_key",)

    def __init__(self, user_key: str) -> None:
        self.user_key = user_key


class TextClassifier(Protocol):
    """Reads chat texts in one bounded call (the feature stage's seam to ``kairos_intent``)."""

    def classify(self, texts: Sequence[str]) -> dict[str, TextSignal]:
        """The signal of each text; raises a ``TransientError`` when no answer came within the deadline."""
        ...


def signals_from_scores(
    texts: Sequence[str], intent_probs: npt.ArrayLike, sentiment: npt.ArrayLike
) -> dict[str, TextSignal]:
    """``kairos_intent``'s outputs as feature signals: the most probable head intent mapped to the feature's labels
    (:data:`~serving.concierge.intent.FEATURE_INTENT`), the sentiment clipped to -1..1 and rounded.

    >>> signals_from_scores(["where is my parcel"], [[0.1, 0, 0, 0, 0.8, 0, 0.1]], [-0.41234])
    {'where is my parcel': TextSignal(sentiment=-0.412, intent='order_status')}
    """
    probs = np.asarray(intent_probs, dtype=np.float64)
    scores = np.asarray(sentiment, dtype=np.float64).reshape(-1)
    if probs.shape != (len(texts), len(INTENT_CLASSES)) or scores.shape != (len(texts),):
        raise ValueError(f"{len(texts)} texts but intent_probs {probs.shape} and sentiment {scores.shape}")
    best = probs.argmax(axis=1)
    return {
        text: TextSignal(
            sentiment=round(max(-1.0, min(1.0, float(score))), SENTIMENT_DECIMALS),
            intent=FEATURE_INTENT[INTENT_CLASSES[int(i)]],
        )
        for text, i, score in zip(texts, best, scores, strict=True)
    }


def read_chat_texts(events: Iterable[Event], classifier: TextClassifier | None) -> tuple[dict[str, TextSignal], str]:
    """The classifier's signals of the distinct chat texts among ``events``, in one call, and why any text is left
    to the lexicon.

    Returns:
        ``(signals, reason)``: ``reason`` is ``"no_chat"`` (no call made), ``"no_classifier"``, the
        :class:`~serving.inference.UnavailableReason` of a failed call (``timeout``, ``unavailable``,
        ``circuit_open``, ``server_error``; the signals are then empty), or ``"missing"`` after a successful call
        (only texts it did not answer fall back).
    """
    texts = list(dict.fromkeys(e.text for e in events if isinstance(e, ChatMessage)))
    if not texts:
        return {}, "no_chat"
    if classifier is None:
        return {}, "no_classifier"
    try:
        return classifier.classify(texts), "missing"
    except TransientError as exc:
        reason = str(getattr(exc, "reason", "error"))
        logger.debug("kairos_intent unavailable reason=%s texts=%s", reason, len(texts))
        return {}, reason


class EncoderTextClassifier:
    """:class:`TextClassifier` over Triton's ``kairos_intent``: one request per call, under ``timeout_s``.

    Args:
        client: the intent client (its breaker refuses calls at once while the model is failing).
        timeout_s: the deadline of one call.
    """

    def __init__(self, client: IntentClient, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s

    def classify(self, texts: Sequence[str]) -> dict[str, TextSignal]:
        """See :class:`TextClassifier`.

        Raises:
            InferenceUnavailableError: no answer within the deadline.
        """
        scores = self._client.classify_sync(texts, self._timeout_s)
        return signals_from_scores(texts, scores.intent_probs, scores.sentiment)


class FeatureHandler:
    """The feature stage's :class:`~streams.batch_loop.BatchHandler`.

    ``text_classifier`` reads chat texts (see the module docstring); ``None`` leaves them to the lexicon.
    """

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
        text_classifier: TextClassifier | None = None,
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
        self._classifier = text_classifier
        self._signals = ClassifiedTextSignals()
        self._fallback_reason = "no_classifier"
        self.checkpoints: PartitionCheckpoints[tuple[FeatureState, ModelSuite, PartitionGuards | None]] = (
            PartitionCheckpoints(
                checkpoint_dir, STAGE, self._source, before_save=sink.flush, every_s=checkpoint_every_s, clock=clock
            )
        )

    def _fresh(self, partition: int) -> tuple[FeatureState, ModelSuite, PartitionGuards | None]:
        guards = self._decide.fresh_guards() if self._decide is not None else None
        return FeatureState(self._config, self._signals), ModelSuite(seed=partition), guards

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Load the partition's checkpoint and replay the input from it up to ``committed``."""
        start, (state, models, guards) = self.checkpoints.restore(partition, lambda: self._fresh(partition))
        state.use_text_signals(self._signals)
        replayed = 0
        changed: dict[str, set[str]] = {"user": set(), "session": set()}
        for chunk in _chunks(read_range(self._kafka, topic, partition, start, max(committed, 0)), _REPLAY_CHUNK):
            records = [self._decode_record(msg) for msg in chunk]
            events = [e for e in records if not isinstance(e, _Erasure)]
            self._read_chat(events)
            try:
                for event in records:
                    if isinstance(event, _Erasure):
                        self._erase(event.user_key, state, guards)
                        changed["user"].discard(event.user_key)
                        continue
                    keys = state.apply(event)
                    if not keys.late:
                        _collect(keys, changed)
                        learn_from_event(models, state, event, keys)
                        if self._decide is not None and guards is not None:
                            self._decide.replay(event, guards)  # decisions were published before: guard inputs
            finally:
                self._count_signals()
            replayed += len(events)
        self.checkpoints.adopt(partition, (state, models, guards), start, committed)
        emitted: dict[str, int] = {}
        if self._decide is not None:  # decisions published after the commit (a crash before it) are held back
            outputs = self._decide.outputs
            emitted = last_emitted_offset(self._kafka, outputs, partition, topic, tail=DECISION_RECOVERY_TAIL)
            self._decide.hold_back(partition, topic, emitted)
        self._publish(state, changed)
        logger.info(
            "features partition=%s checkpoint_offset=%s committed=%s replayed=%s decisions_emitted_through=%s",
            partition,
            start,
            committed,
            replayed,
            emitted,
        )

    def revoked(self, topic: str, partition: int) -> None:
        """Checkpoint and forget the partition."""
        self.checkpoints.release(partition)

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Apply one batch, then publish the changed rows once per entity."""
        checkpoints = self.checkpoints
        decoded: list[tuple[Message, Event | _Erasure | PoisonMessageError]] = []
        for msg in messages:
            if checkpoints.covers(msg.partition() or 0, msg.offset() or 0):
                continue
            try:
                decoded.append((msg, self._decode_record(msg)))
            except PoisonMessageError as exc:
                decoded.append((msg, exc))
        self._read_chat(e for _, e in decoded if not isinstance(e, PoisonMessageError | _Erasure))
        try:
            late = self._apply(decoded, producer)
        finally:
            self._count_signals()
        FEATURE_EVENTS.labels("applied").inc(len(messages) - late)
        FEATURE_EVENTS.labels("late").inc(late)
        checkpoints.maybe_save()

    def _read_chat(self, events: Iterable[Event]) -> None:
        """Prime the text reader with the encoder's signals of the chat texts among ``events`` (one bounded call)."""
        self._signals.clear()
        started = time.perf_counter()
        signals, self._fallback_reason = read_chat_texts(events, self._classifier)
        if self._fallback_reason != "no_chat":
            TEXT_SIGNAL_SECONDS.observe(time.perf_counter() - started)
        self._signals.prime(signals)

    def _count_signals(self) -> None:
        counts = self._signals.counts
        if counts["encoder"]:
            TEXT_SIGNALS.labels("encoder", "ok").inc(counts["encoder"])
        if counts["lexicon"]:
            TEXT_SIGNALS.labels("lexicon", self._fallback_reason).inc(counts["lexicon"])
        self._signals.clear()

    def _decode_record(self, msg: Message) -> Event | _Erasure:
        erased = erased_key(msg.key(), msg.headers())
        return _Erasure(erased) if erased is not None else self._decode(msg.value() or b"")

    def _erase(self, user_key: str, state: FeatureState, guards: PartitionGuards | None) -> None:
        """Drop a shopper's user state, guard state and hot row, and erase their Feast row (online and history)."""
        state.forget_user(user_key)
        if guards is not None:
            guards.users.pop(user_key, None)
        self._cache.drop_users([user_key])
        self._sink.forget(USER_VIEW, [user_key], "user_id")

    def _apply(self, decoded: list[tuple[Message, Event | _Erasure | PoisonMessageError]], producer: Producer) -> int:
        """Apply decoded events (dead-lettering poison and late ones), decide, publish; returns the late count."""
        changed: dict[int, dict[str, set[str]]] = {}
        late: Counter[int] = Counter()
        checkpoints = self.checkpoints
        for msg, event in decoded:
            partition, offset = msg.partition() or 0, msg.offset() or 0
            state, models, guards = checkpoints.states[partition]
            if isinstance(event, PoisonMessageError):
                self._dead_letter(producer, msg, event)
                continue
            if isinstance(event, _Erasure):
                if self._decide is not None:  # the triggers before it are decided with the state before it
                    self._decide.flush(producer, {p: g for p, (_, _, g) in checkpoints.states.items() if g is not None})
                self._erase(event.user_key, state, guards)
                changed.get(partition, {"user": set()})["user"].discard(event.user_key)
                logger.info("features erased a user partition=%s offset=%s", partition, offset)
                checkpoints.advance(partition, offset)
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
                        partition,
                        event,
                        user_row=user_row,
                        session_row=session_row,
                        models=models,
                        guards=guards,
                        offset=offset,
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
        return sum(late.values())

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
        Those rows (user, session), for a decision on this event (which asks ``models.predict_one`` for the
        session's scores).
    """
    at = event.event_time
    session_row = state.session_row(keys.session_id, at) if keys.session_id is not None else None
    user_row = state.user_row(event.partition_key, at)
    models.learn_one(event, session_row, user_row)
    return user_row, session_row


def _chunks(messages: Iterable[Message], size: int) -> Iterable[list[Message]]:
    chunk: list[Message] = []
    for msg in messages:
        chunk.append(msg)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collect(keys: ChangedKeys, into: dict[str, set[str]]) -> None:
    if keys.user_key is not None:
        into["user"].add(keys.user_key)
    if keys.session_id is not None:
        into["session"].add(keys.session_id)
