"""One partition of the attribution stage: the attributor, its input offsets, and what it may still dead-letter.

Pure and picklable (it is the stage's checkpoint): the agent decodes records, hands them here with their source
coordinates (:meth:`AttributionPartition.take`, in event-time order), calls :meth:`AttributionPartition.release`
once per batch and publishes the :class:`Outputs`. Unattributed outcomes come out later than the record that
carried them, so the raw record of every event that could still be reported is kept until it cannot
(its time plus the largest backward window behind the horizon). Outputs found by the agent on the output topics
after a restart are in :attr:`AttributionPartition.ledger` and are not handed out again.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from schemas.decisions import Decision
from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import Event
from schemas.rewards import Reward
from streams.attribution.attributor import Attributor
from streams.attribution.config import AttributionConfig
from streams.attribution.ledger import PublishedLedger
from streams.attribution.outcomes import OUTCOME_CLASSES
from streams.attribution.results import Intake, Unattributed, UnattributedReason
from streams.attribution.store import micros
from streams.features.windows import to_micros

__all__ = ["AttributionPartition", "Outputs", "Rejection", "SourceRecord", "unattributed_error"]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """An input record's coordinates and bytes: what a dead letter for it carries."""

    topic: str
    partition: int
    offset: int
    raw: bytes
    key: bytes | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input record to dead-letter with ``error``'s reason."""

    source: SourceRecord
    error: PoisonMessageError


@dataclass(frozen=True, slots=True)
class Outputs:
    """What one :meth:`AttributionPartition.release` hands the agent to publish, and what it held back.

    Attributes:
        rewards: reward records for ``kairos.rewards.v1``, in emission order.
        rejections: dead letters (late records, bad records, unattributed outcomes), in order.
        unattributed: the attributor's unattributed reports (for metrics; their dead letters are in ``rejections``
            unless suppressed).
        suppressed_rewards: rewards not handed out because they were already published.
        suppressed_rejections: dead letters not handed out because they were already published.
        unmatched: unattributed reports whose raw record was not held (a bug: counted, logged by the agent).
    """

    rewards: tuple[Reward, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    unattributed: tuple[Unattributed, ...] = ()
    suppressed_rewards: int = 0
    suppressed_rejections: int = 0
    unmatched: int = 0

    def __bool__(self) -> bool:
        return bool(self.rewards or self.rejections)


def unattributed_error(report: Unattributed) -> PoisonMessageError:
    """The dead-letter error of an unattributed outcome: reason ``unattributed``, the cause first in the detail.

    >>> from schemas.examples import example_events
    >>> event = example_events()["intervention_impression"]
    >>> error = unattributed_error(Unattributed(event, "d-9", UnattributedReason.NOT_SHOWN))
    >>> error.reason.value, error.detail, error.field
    ('unattributed', 'not_shown: decision d-9 was never shown', '$.decision_id')
    """
    named = report.decision_id
    details = {
        UnattributedReason.UNKNOWN_DECISION: f"no held decision {named} could take it (never seen on this "
        "partition, closed or forgotten, or the event is outside its activation interval)",
        UnattributedReason.NOT_SHOWN: f"decision {named} was never shown",
        UnattributedReason.OUTSIDE_WINDOW: f"the event is outside decision {named}'s window or conditions",
        UnattributedReason.NO_DECISION: "the outcome names no decision and none was eligible",
    }
    field = "$.decision_id" if named is not None else None
    return PoisonMessageError(DeadLetterReason.UNATTRIBUTED, f"{report.reason.value}: {details[report.reason]}", field)


class AttributionPartition:
    """The attribution state of one user partition (decisions and events co-partitioned), picklable.

    Args:
        config: the attribution rules.

    Attributes:
        attributor: the pure attributor.
        next_offsets: per input topic, the first offset the state does not reflect.
        output_offsets: per output topic, where its partition ended (or before) when the state was checkpointed;
            a restart reads the outputs from there into :attr:`ledger`.
        ledger: outputs already published that the state has not emitted yet (after a restart).
    """

    def __init__(self, config: AttributionConfig | None = None) -> None:
        self.attributor = Attributor(config)
        self.next_offsets: dict[str, int] = {}
        self.output_offsets: dict[str, int] = {}
        self.ledger = PublishedLedger()
        config = self.attributor.config
        self._lateness_us = micros(config.allowed_lateness_s)
        self._max_backward_us = micros(config.max_backward_s)
        self._report_organic = config.report_organic
        self._held: dict[str, SourceRecord] = {}  # event id -> its record, while it may still be unattributed
        self._held_times: list[tuple[int, str]] = []  # (event time, event id), a heap
        self._rejections: list[Rejection] = []

    def __len__(self) -> int:
        """Pending decisions held."""
        return len(self.attributor)

    @property
    def held(self) -> int:
        """Raw records kept because they may still be reported unattributed."""
        return len(self._held)

    def take(self, record: Decision | Event, source: SourceRecord) -> Intake:
        """Hand one decoded record to the attributor; a late one is queued for the dead-letter topic."""
        self.next_offsets[source.topic] = source.offset + 1
        if isinstance(record, Decision):
            intake = self.attributor.add_decision(record)
            if intake is Intake.LATE:
                detail = f"decision {record.decision_id} arrived after its last attribution window had closed"
                self._rejections.append(Rejection(source, PoisonMessageError(DeadLetterReason.LATE_EVENT, detail)))
            return intake
        intake = self.attributor.add_event(record)
        if intake is Intake.LATE:
            detail = f"{record.event_type} {record.event_id} arrived after every window it could count in was emitted"
            self._rejections.append(Rejection(source, PoisonMessageError(DeadLetterReason.LATE_EVENT, detail)))
        elif intake is Intake.ACCEPTED and self._reportable(record) and record.event_id not in self._held:
            self._held[record.event_id] = source
            heapq.heappush(self._held_times, (to_micros(record.event_time), record.event_id))
        return intake

    def reject(self, source: SourceRecord, error: PoisonMessageError) -> None:
        """Queue a record that could not be decoded for the dead-letter topic."""
        self.next_offsets[source.topic] = source.offset + 1
        self._rejections.append(Rejection(source, error))

    def release(self, watermark: datetime | None = None) -> Outputs:
        """Advance the attributor and hand out what to publish, less what is already published.

        Args:
            watermark: passed to :meth:`Attributor.advance` (``None``: the largest event time seen).
        """
        emission = self.attributor.advance(watermark)
        ledger = self.ledger
        rewards = tuple(r for r in emission.rewards if ledger.fresh_reward(r.decision_id, r.component.value))
        unmatched = 0
        for report in emission.unattributed:
            source = self._held.get(report.event.event_id)
            if source is None:
                unmatched += 1
            else:
                self._rejections.append(Rejection(source, unattributed_error(report)))
        candidates, self._rejections = self._rejections, []
        rejections = tuple(
            r for r in candidates if ledger.fresh_rejection(r.source.topic, r.source.offset, r.error.reason.value)
        )
        self._forget()
        return Outputs(
            rewards=rewards,
            rejections=rejections,
            unattributed=emission.unattributed,
            suppressed_rewards=len(emission.rewards) - len(rewards),
            suppressed_rejections=len(candidates) - len(rejections),
            unmatched=unmatched,
        )

    def _reportable(self, event: Event) -> bool:
        """Whether the attributor may later report ``event`` unattributed: it names a decision, or it is an
        outcome and organic outcomes are reported."""
        if getattr(event, "decision_id", None) is not None:
            return True
        return self._report_organic and type(event) in OUTCOME_CLASSES

    def _forget(self) -> None:
        watermark = self.attributor.watermark
        if watermark is None:
            return
        horizon = to_micros(watermark) - self._lateness_us
        held, times = self._held, self._held_times
        while times and times[0][0] + self._max_backward_us < horizon:
            _, event_id = heapq.heappop(times)
            held.pop(event_id, None)
        if len(self.ledger):
            below = dict(self.next_offsets)
            for source in held.values():
                below[source.topic] = min(below.get(source.topic, source.offset), source.offset)
            self.ledger.forget(horizon - self._max_backward_us, below)
