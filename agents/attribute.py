"""attribute_rewards: decisions and outcome events in, rewards out to ``kairos.rewards.v1``, exactly once.

Runs on a :class:`~streams.batch_loop.BatchLoop` (group ``<namespace>-attribution``) over
``kairos.interventions.v1`` and ``kairos.events.v1`` together. Both are keyed by user with one partition count, and
the range assignor hands partition *p* of both to one consumer, so one
:class:`~streams.attribution.AttributionPartition` per *p* sees a user's decisions and outcomes. Per batch and
partition: decode, feed the records in event-time order, advance, publish the rewards (key = user, same partition)
and dead-letter late, bad and unattributed records (reasons ``late_event``, the decoder's, ``unattributed``).

Restarts (``docs/attribution.md``): the state is checkpointed to the worker's disk at the start of a batch, when
every output of the records it reflects is acknowledged and their offsets committed, with where the output
partitions ended then. On assignment the checkpoint is loaded, the outputs published since are read into its
ledger, and the inputs are replayed from the checkpoint's offsets to the committed ones; the attributor then
re-emits what it emitted after the checkpoint, and the ledger keeps every reward and dead letter already there
from being published twice.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from agents.dead_letter import send_dead_letter_of
from schemas.codec import EventDecoder, StructDecoder, encode
from schemas.deadletter import dead_letter_from_record
from schemas.decisions import Decision
from schemas.errors import KairosError, PoisonMessageError
from schemas.events import Event
from schemas.rewards import Reward
from streams.attribution import AttributionConfig, AttributionPartition, Outputs, Rejection, SourceRecord
from streams.checkpoint import load_checkpoint, save_checkpoint
from streams.clients import consumer_config
from streams.config import KafkaConfig, TopicsConfig
from streams.features.windows import to_micros
from streams.metrics import (
    ATTRIBUTION_PENDING,
    ATTRIBUTION_RECORDS,
    ATTRIBUTION_SUPPRESSED,
    ATTRIBUTION_UNATTRIBUTED,
    REWARDS,
)
from streams.pseudonym import erased_key
from streams.reader import read_range

__all__ = ["STAGE", "AttributionAssignmentError", "AttributionHandler"]

logger = logging.getLogger(__name__)

STAGE = "attribute"

Arrival = tuple[int, int, int, Decision | Event, SourceRecord]
"""(event time, 0 for a decision or 1 for an event, offset, record, source): sorts into feeding order."""


class AttributionAssignmentError(KairosError):
    """A partition of one input arrived without the same partition of the other (not co-partitioned)."""


class AttributionHandler:
    """The attribution stage's :class:`~streams.batch_loop.BatchHandler`.

    Args:
        kafka: the broker.
        topics: topic names (inputs: interventions and events; outputs: rewards and dead letters).
        checkpoint_dir: where partition checkpoints live (``<dir>/attribute/<events topic>-<p>.ckpt``).
        config: the attribution rules of new partition states (a checkpoint keeps its own).
        checkpoint_every_s: how often the states are checkpointed (wall clock).
        clock: wall-clock seconds (checkpoint cadence, dead-letter timestamps).
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: TopicsConfig,
        checkpoint_dir: Path,
        *,
        config: AttributionConfig | None = None,
        checkpoint_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self._decisions, self._events = topics.interventions, topics.events
        self._rewards, self._dead = topics.rewards, topics.dead_letters
        self._dir = checkpoint_dir
        self._config = config or AttributionConfig()
        self._every_s = checkpoint_every_s
        self._clock = clock
        self._last_save = clock()
        self._decode_decision = StructDecoder(Decision).decode
        self._decode_event = EventDecoder().decode
        self._decode_reward = StructDecoder(Reward).decode
        self.partitions: dict[int, AttributionPartition] = {}
        self._committed: dict[int, dict[str, int]] = {}  # assignments waiting for the other input topic
        self._skip_below: dict[tuple[str, int], int] = {}
        self._unsent: dict[int, Outputs] = {}  # replay outputs, published with the partition's next batch
        self._broken = False

    # -- assignment ---------------------------------------------------------------------------------------------

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Note the assignment; once both inputs of ``partition`` are assigned, restore and replay it."""
        waiting = self._committed.setdefault(partition, {})
        waiting[topic] = committed
        if len(waiting) == 2:
            self._restore(partition, self._committed.pop(partition))

    def revoked(self, topic: str, partition: int) -> None:
        """Checkpoint and forget the partition (on the first of its two topics)."""
        self._committed.pop(partition, None)
        state = self.partitions.pop(partition, None)
        unsent = self._unsent.pop(partition, None)
        if state is not None and unsent is None and not self._broken:
            self._save({partition: state})

    def _restore(self, partition: int, committed: dict[str, int]) -> None:
        loaded = load_checkpoint(self._dir, STAGE, self._events, partition)
        state = loaded[1] if loaded is not None else AttributionPartition(self._config)
        if loaded is not None or any(offset > 0 for offset in committed.values()):
            self._read_ledger(partition, state)
        arrivals: list[Arrival] = []
        for topic in (self._decisions, self._events):
            start = state.next_offsets.get(topic, 0)
            self._skip_below[(topic, partition)] = start
            for msg in read_range(self._kafka, topic, partition, start, max(committed.get(topic, 0), 0)):
                self._arrive(msg, state, arrivals)
        outputs = self._feed(state, arrivals, replay=True)
        if outputs:
            self._unsent[partition] = outputs
        self.partitions[partition] = state
        logger.info(
            "attribute partition=%s checkpoint=%s committed=%s replayed=%s ledger=%s unsent=%s",
            partition,
            loaded is not None,
            committed,
            len(arrivals),
            len(state.ledger),
            len(outputs.rewards) + len(outputs.rejections),
        )

    def _read_ledger(self, partition: int, state: AttributionPartition) -> None:
        """Note every reward and every dead letter of this stage published since the checkpoint."""
        for msg in read_range(self._kafka, self._rewards, partition, state.output_offsets.get(self._rewards, 0)):
            try:
                reward = self._decode_reward(msg.value() or b"")
            except PoisonMessageError:
                continue  # not ours: nothing this stage would emit
            state.ledger.saw_reward(reward.decision_id, reward.component.value, to_micros(reward.event_time))
        for msg in read_range(self._kafka, self._dead, partition, state.output_offsets.get(self._dead, 0)):
            try:
                letter = dead_letter_from_record(msg.key(), msg.value(), msg.headers())
            except PoisonMessageError:
                continue
            if letter.stage == STAGE:
                state.ledger.saw_rejection(letter.source_topic, letter.source_offset, letter.reason)

    # -- batches ------------------------------------------------------------------------------------------------

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Attribute one batch; checkpoint first when due (everything before it is acknowledged and committed)."""
        if self._clock() - self._last_save >= self._every_s:
            self._save(self.partitions)
        try:
            by_partition: dict[int, list[Message]] = defaultdict(list)
            for msg in messages:
                by_partition[msg.partition() or 0].append(msg)
            for partition, batch in by_partition.items():
                state = self.partitions.get(partition)
                if state is None:
                    raise AttributionAssignmentError(
                        f"partition {partition} of {self._decisions} and {self._events} must be assigned together "
                        "(same partition counts, range assignor)"
                    )
                unsent = self._unsent.pop(partition, None)
                if unsent is not None:
                    self._publish(producer, partition, unsent)
                arrivals: list[Arrival] = []
                for msg in batch:
                    topic, offset = msg.topic() or "", msg.offset() or 0
                    if offset < self._skip_below.get((topic, partition), 0):
                        ATTRIBUTION_RECORDS.labels(_input(topic, self._decisions), "replayed").inc()
                        continue
                    self._arrive(msg, state, arrivals)
                self._publish(producer, partition, self._feed(state, arrivals, replay=False))
                ATTRIBUTION_PENDING.labels(str(partition)).set(len(state))
        except BaseException:
            self._broken = True  # the states may be half-way through a batch: never checkpoint them
            raise

    def _arrive(self, msg: Message, state: AttributionPartition, arrivals: list[Arrival]) -> None:
        """Decode one record into ``arrivals``; a bad one is queued for the dead-letter topic."""
        if erased_key(msg.key(), msg.headers()) is not None:
            return  # an erasure record (kairos forget) is the feature stage's; nothing to attribute
        topic, offset = msg.topic() or "", msg.offset() or 0
        ts_type, ts = msg.timestamp()
        source = SourceRecord(
            topic, msg.partition() or 0, offset, msg.value() or b"", msg.key(), ts if ts_type else None
        )
        try:
            if topic == self._decisions:
                decision = self._decode_decision(source.raw)
                arrivals.append((to_micros(decision.event_time), 0, offset, decision, source))
            else:
                event = self._decode_event(source.raw)
                arrivals.append((to_micros(event.event_time), 1, offset, event, source))
        except PoisonMessageError as exc:
            state.reject(source, exc)
            ATTRIBUTION_RECORDS.labels(_input(topic, self._decisions), "poison").inc()

    def _feed(self, state: AttributionPartition, arrivals: list[Arrival], *, replay: bool) -> Outputs:
        """Feed decoded records in event-time order (decisions first at a tie), then release."""
        arrivals.sort(key=lambda arrival: arrival[:3])
        for _, kind, _, record, source in arrivals:
            intake = state.take(record, source)
            if not replay:
                ATTRIBUTION_RECORDS.labels("decision" if kind == 0 else "event", intake.value).inc()
        outputs = state.release()
        for report in outputs.unattributed:
            ATTRIBUTION_UNATTRIBUTED.labels(report.reason.value).inc()
        ATTRIBUTION_SUPPRESSED.labels("reward").inc(outputs.suppressed_rewards)
        ATTRIBUTION_SUPPRESSED.labels("dead_letter").inc(outputs.suppressed_rejections)
        if outputs.unmatched:
            logger.error("attribute: %s unattributed reports without their held record", outputs.unmatched)
        return outputs

    def _publish(self, producer: Producer, partition: int, outputs: Outputs) -> None:
        for reward in outputs.rewards:
            key = reward.user_id or reward.anonymous_id or reward.decision_id
            producer.produce(self._rewards, encode(reward), key.encode(), partition)
            REWARDS.labels(reward.component.value).inc()
        for rejection in outputs.rejections:
            self._dead_letter(producer, rejection)

    def _dead_letter(self, producer: Producer, rejection: Rejection) -> None:
        source = rejection.source
        send_dead_letter_of(
            producer,
            rejection.error,
            raw=source.raw,
            key=source.key,
            source_topic=source.topic,
            source_partition=source.partition,
            source_offset=source.offset,
            source_timestamp_ms=source.timestamp_ms,
            stage=STAGE,
            topic=self._dead,
            now_s=self._clock(),
        )

    # -- checkpoints --------------------------------------------------------------------------------------------

    def _save(self, states: dict[int, AttributionPartition]) -> None:
        """Checkpoint ``states`` with where their output partitions end now (every output is acknowledged)."""
        ready = {p: s for p, s in states.items() if p not in self._unsent}
        if ready:
            ends = _ends(self._kafka, [(t, p) for p in ready for t in (self._rewards, self._dead)])
            for partition, state in ready.items():
                state.output_offsets = {t: ends[(t, partition)] for t in (self._rewards, self._dead)}
                save_checkpoint(
                    self._dir,
                    STAGE,
                    self._events,
                    partition,
                    next_offset=state.next_offsets.get(self._events, 0),
                    state=state,
                )
        self._last_save = self._clock()


def _input(topic: str, decisions: str) -> str:
    return "decision" if topic == decisions else "event"


def _ends(
    kafka: KafkaConfig, partitions: Iterable[tuple[str, int]], timeout_s: float = 10.0
) -> dict[tuple[str, int], int]:
    """Where each partition ends by ListOffsets: exact on Kafka, short by up to one batch on Tansu (docs/broker.md),
    never past the end, which is what a restart's read of the outputs needs (it starts there or before)."""
    consumer = Consumer(consumer_config(kafka, None))
    try:
        ends = {}
        for topic, partition in partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s, cached=False)
            ends[(topic, partition)] = max(int(high), 0)
        return ends
    finally:
        consumer.close()
