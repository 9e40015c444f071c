"""validate_events: the ingest stage — raw clickstream in; valid, de-duplicated events and dead letters out.

Runs on a :class:`streams.batch_loop.BatchLoop` inside the worker. Each output record keeps its input's partition
and carries its provenance header, which makes a restart exact: the handler re-reads the output tails to skip what
was already emitted and replays the input tail to rebuild its de-duplication window.

With a pseudonymisation key (``privacy.pseudonymise``), every valid event is published with its ``user_id`` and
``anonymous_id`` replaced by their keyed hashes (:mod:`streams.pseudonym`), re-encoded and keyed by the pseudonym,
on its input partition: nothing downstream sees the publisher's ids (docs/privacy.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Message, Producer

from agents.dead_letter import send_dead_letter
from schemas.codec import EventDecoder, encode
from schemas.errors import PoisonMessageError
from schemas.events import Event
from streams.config import IngestConfig, KafkaConfig, TopicsConfig
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor, Verdict
from streams.metrics import INGEST_EVENT_AGE_SECONDS, INGEST_RECORDS
from streams.provenance import last_emitted_offset, source_header
from streams.pseudonym import Pseudonymiser
from streams.reader import read_range

__all__ = ["IngestHandler", "PartitionState"]

logger = logging.getLogger(__name__)

STAGE = "ingest"


@dataclass(slots=True)
class PartitionState:
    """What ingest keeps per owned input partition."""

    dedup: DedupWindow
    # Before a restart, the results of input records up to these offsets were already acknowledged in the events
    # and dead-letter topics: re-route them (routing is deterministic) but emit only what is missing.
    events_through: int
    dead_through: int


class IngestHandler:
    """The ingest :class:`~streams.batch_loop.BatchHandler`; ``pseudonym_key`` (a secret) pseudonymises ids."""

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: TopicsConfig,
        config: IngestConfig,
        *,
        clock: Callable[[], float] = time.time,
        pseudonym_key: bytes | None = None,
    ) -> None:
        self._kafka = kafka
        self._pseudonymiser = Pseudonymiser(pseudonym_key) if pseudonym_key is not None else None
        self._config = config
        self._source = topics.raw_events
        self._events = topics.events
        self._dead = topics.dead_letters
        self._clock = clock
        if config.clock not in ("wall", "records"):
            raise ValueError(f"ingest.clock must be wall or records, got {config.clock!r}")
        self._by_records = config.clock == "records"
        self._ingestor = Ingestor(
            EventDecoder(max_bytes=config.max_event_bytes),
            ClockRules(config.max_future_skew_s, config.max_past_skew_s),
        )
        self.partitions: dict[int, PartitionState] = {}

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Rebuild the partition's state: de-dup window from the input tail, emitted prefix from the outputs."""
        cfg = self._config
        emitted = last_emitted_offset(
            self._kafka, [self._events, self._dead], partition, self._source, tail=cfg.recovery_tail
        )
        dedup = DedupWindow(cfg.dedup_capacity, cfg.dedup_window_s)
        resume = max(committed, 0)
        replayed = 0
        now = self._clock()
        for msg in read_range(self._kafka, topic, partition, max(0, resume - cfg.dedup_capacity), resume):
            self._ingestor.remember(msg.value(), dedup, now, key=msg.key())
            replayed += 1
        self.partitions[partition] = PartitionState(dedup, emitted[self._events], emitted[self._dead])
        logger.info(
            "ingest partition=%s committed=%s emitted_through=%s dedup_rebuilt_from=%s records",
            partition,
            committed,
            emitted,
            replayed,
        )

    def revoked(self, topic: str, partition: int) -> None:
        """Forget the partition."""
        self.partitions.pop(partition, None)

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Route one batch; counts go to the metrics once per batch."""
        now = self._clock() if not self._by_records else _newest_timestamp_s(messages, self._clock)
        by_records = self._by_records
        route = self._ingestor.route
        produce, events_topic = producer.produce, self._events
        source = self._source
        states = self.partitions
        pseudonymiser = self._pseudonymiser
        valid = duplicate = replayed = rekeyed = 0
        dead = 0
        newest: Event | None = None
        for msg in messages:
            partition = msg.partition() or 0
            offset = msg.offset() or 0
            state = states[partition]
            raw = msg.value()
            if by_records:
                ts_type, ts = msg.timestamp()
                now = ts / 1000.0 if ts_type else now  # the record's own log time; without one, the batch's newest
            verdict, payload = route(raw, state.dedup, now, key=msg.key())
            if verdict is Verdict.REKEY:
                # Not tracked by the restart scan: a replay publishes it again, and its partition's window drops it.
                keyed: Event = payload  # type: ignore[assignment]
                stamp_type, stamp = msg.timestamp()  # the copy keeps the record's time (a replay's clock reads it)
                produce(
                    source,
                    raw,
                    keyed.partition_key.encode(),
                    timestamp=stamp if stamp_type else 0,
                    headers=[source_header(source, partition, offset)],
                )
                rekeyed += 1
                continue
            if offset <= (state.dead_through if verdict is Verdict.DEAD else state.events_through):
                replayed += 1  # its result is already out there
                continue
            if verdict is Verdict.VALID:
                event: Event = payload  # type: ignore[assignment]
                value = raw
                if pseudonymiser is not None:
                    event = pseudonymiser.event(event)
                    value = encode(event)
                produce(
                    events_topic,
                    value,
                    event.partition_key.encode(),
                    partition,
                    headers=[source_header(source, partition, offset)],
                )
                valid += 1
                newest = event
            elif verdict is Verdict.DUPLICATE:
                duplicate += 1
            else:
                error: PoisonMessageError = payload  # type: ignore[assignment]
                self._dead_letter(producer, msg, error, now)
                dead += 1
        INGEST_RECORDS.labels("valid").inc(valid)
        INGEST_RECORDS.labels("duplicate").inc(duplicate)
        INGEST_RECORDS.labels("replayed").inc(replayed)
        INGEST_RECORDS.labels("dead").inc(dead)
        INGEST_RECORDS.labels("rekeyed").inc(rekeyed)
        if newest is not None:
            INGEST_EVENT_AGE_SECONDS.observe(max(0.0, now - newest.event_time.timestamp()))

    def _dead_letter(self, producer: Producer, msg: Message, error: PoisonMessageError, now: float) -> None:
        send_dead_letter(producer, msg, error, stage=STAGE, topic=self._dead, now_s=now)


def _newest_timestamp_s(messages: list[Message], fallback: Callable[[], float]) -> float:
    """The newest record timestamp of a batch in seconds (``fallback()`` when no record has one)."""
    stamps = [ts for ts_type, ts in (m.timestamp() for m in messages) if ts_type]
    return max(stamps) / 1000.0 if stamps else fallback()
