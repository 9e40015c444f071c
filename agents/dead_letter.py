"""Sending one bad record to the dead-letter topic: never refused for its size, retried, never a crash loop.

Every stage that dead-letters goes through :class:`DeadLetterSender` (``send_dead_letter`` /
``send_dead_letter_of``). The record keeps the source's raw bytes and key; the reason and the source coordinates are
headers (``docs/schemas.md``). A letter larger than the topic takes is stored as a prefix with the original size and
sha256 (:func:`~schemas.deadletter.fit_dead_letter`). A produce the broker refuses is retried with backoff — after a
size refusal in a smaller form (the prefix, then headers only) — and one that can never succeed is counted
(``kairos_dead_letters_undeliverable_total``), logged with its source coordinates and skipped: a dead letter never
stops a stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas.deadletter import DeadLetter, dead_letter_for, dead_letter_headers, fit_dead_letter
from schemas.errors import PoisonMessageError
from streams.metrics import DEAD_LETTERS, DEAD_LETTERS_TRUNCATED, DEAD_LETTERS_UNDELIVERABLE
from streams.provenance import source_header

__all__ = [
    "KEEP_BYTES",
    "MAX_RECORD_BYTES",
    "DeadLetterSender",
    "send_dead_letter",
    "send_dead_letter_of",
]

logger = logging.getLogger(__name__)

#: The largest dead-letter record sent: under librdkafka's ``message.max.bytes`` (1,000,000, which Kairos producers
#: keep) and under the dead-letter topic's ``max.message.bytes`` (``kairos topics create`` sets 1,048,588).
MAX_RECORD_BYTES = 1_000_000 - 16 * 1024
#: How much of an oversize value (or key) a truncated dead letter keeps: the ingest decoder's whole size limit.
KEEP_BYTES = 64 * 1024

_SIZE_ERRORS = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})
_SHRINK = (KEEP_BYTES, 0)  # after a size refusal: keep a prefix, then headers only (a reference to the source)


@dataclass(slots=True)
class _Letter:
    """One dead letter on its way: what to send, where, and how often it was tried."""

    producer: Producer
    topic: str
    letter: DeadLetter
    attempt: int = 0
    shrunk: int = 0  # how many size refusals (index into _SHRINK)
    counted_truncated: bool = False


class DeadLetterSender:
    """Produces dead letters on a stage's producer (the one whose flush precedes the stage's commit).

    Args:
        max_bytes: the largest record to send (larger letters are truncated first).
        keep_bytes: the prefix of an oversize value or key that is kept.
        attempts: produce attempts per letter before it is recorded as undeliverable and skipped.
        backoff_s: the first retry's wait; each next one doubles, up to ``max_backoff_s``.
        max_backoff_s: the longest wait between two attempts.
        wait_budget_s: the most the sender waits per ``budget_window_s`` (retries beyond it are not delayed): many
            letters failing at once must not hold a stage's flush past its deadline.
        budget_window_s: the window of ``wait_budget_s``.
        sleep: the wait (injected in tests).
        clock: monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        *,
        max_bytes: int = MAX_RECORD_BYTES,
        keep_bytes: int = KEEP_BYTES,
        attempts: int = 5,
        backoff_s: float = 0.1,
        max_backoff_s: float = 2.0,
        wait_budget_s: float = 5.0,
        budget_window_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_bytes = max_bytes
        self._keep_bytes = keep_bytes
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._wait_budget_s = wait_budget_s
        self._budget_window_s = budget_window_s
        self._sleep = sleep
        self._clock = clock
        self._window_start = float("-inf")
        self._waited = 0.0  # in the current budget window

    def send(
        self, producer: Producer, msg: Message, error: PoisonMessageError, *, stage: str, topic: str, now_s: float
    ) -> None:
        """Dead-letter ``msg`` to ``topic`` (same partition) with ``error``'s reason; count it."""
        ts_type, ts = msg.timestamp()
        self.send_of(
            producer,
            error,
            raw=msg.value(),
            key=msg.key(),
            source_topic=msg.topic() or "",
            source_partition=msg.partition() or 0,
            source_offset=msg.offset() or 0,
            source_timestamp_ms=ts if ts_type else None,
            stage=stage,
            topic=topic,
            now_s=now_s,
        )

    def send_of(
        self,
        producer: Producer,
        error: PoisonMessageError,
        *,
        raw: bytes | None,
        key: bytes | None,
        source_topic: str,
        source_partition: int,
        source_offset: int,
        source_timestamp_ms: int | None,
        stage: str,
        topic: str,
        now_s: float,
    ) -> None:
        """:meth:`send` for a record known by its bytes and coordinates (a stage that held it)."""
        letter = dead_letter_for(
            error,
            raw=raw,
            key=key,
            stage=stage,
            source_topic=source_topic,
            source_partition=source_partition,
            source_offset=source_offset,
            source_timestamp_ms=source_timestamp_ms,
            dead_lettered_at_ms=int(now_s * 1000),
        )
        DEAD_LETTERS.labels(stage, letter.reason).inc()
        self._try(_Letter(producer, topic, fit_dead_letter(letter, self._max_bytes, self._keep_bytes)))
        producer.poll(0)  # serve delivery reports (and so retries) of earlier letters on producers nobody polls

    def _form(self, job: _Letter) -> DeadLetter:
        if job.shrunk == 0:
            return job.letter
        return fit_dead_letter(job.letter, 0, min(self._keep_bytes, _SHRINK[job.shrunk - 1]))

    def _try(self, job: _Letter) -> None:
        """Produce ``job`` (its delivery report retries it); retry at once what the client refuses synchronously."""
        while True:
            letter = self._form(job)
            if letter.truncated and not job.counted_truncated:
                job.counted_truncated = True
                DEAD_LETTERS_TRUNCATED.labels(letter.stage, letter.reason).inc()
                logger.warning(
                    "dead letter truncated stage=%s reason=%s source=%s/%s/%s original_size=%s sha256=%s",
                    letter.stage,
                    letter.reason,
                    letter.source_topic,
                    letter.source_partition,
                    letter.source_offset,
                    letter.original_size,
                    letter.original_sha256,
                )
            headers: list[tuple[str, str | bytes | None]] = [
                *dead_letter_headers(letter),
                source_header(letter.source_topic, letter.source_partition, letter.source_offset),
            ]
            try:
                job.producer.produce(
                    job.topic,
                    letter.raw,
                    letter.key,
                    letter.source_partition,
                    headers=headers,
                    on_delivery=partial(self._delivered, job),
                )
                return
            except BufferError as exc:  # the client's queue is full: wait for it to drain
                if not self._again(job, str(exc), size=False, fatal=False):
                    return
            except KafkaException as exc:
                err: KafkaError = exc.args[0]
                if not self._again(job, str(err), size=err.code() in _SIZE_ERRORS, fatal=err.fatal()):
                    return

    def _delivered(self, job: _Letter, err: KafkaError | None, _msg: Message) -> None:
        """Delivery report of one attempt (only failures are reported): retry it or give it up."""
        if err is not None and self._again(job, str(err), size=err.code() in _SIZE_ERRORS, fatal=err.fatal()):
            self._try(job)

    def _again(self, job: _Letter, error: str, *, size: bool, fatal: bool) -> bool:
        """Count a failed attempt; wait and return True if the letter is worth another one."""
        job.attempt += 1
        if size:
            job.shrunk += 1
        if fatal or job.attempt >= self._attempts or job.shrunk > len(_SHRINK):
            letter = job.letter
            DEAD_LETTERS_UNDELIVERABLE.labels(letter.stage, letter.reason).inc()
            logger.error(
                "dead letter undeliverable, skipped stage=%s reason=%s source=%s/%s/%s size=%s attempts=%s error=%s",
                letter.stage,
                letter.reason,
                letter.source_topic,
                letter.source_partition,
                letter.source_offset,
                letter.original_size if letter.original_size is not None else len(letter.raw),
                job.attempt,
                error,
            )
            return False
        self._wait(min(self._max_backoff_s, self._backoff_s * 2 ** (job.attempt - 1)))
        return True

    def _wait(self, seconds: float) -> None:
        now = self._clock()
        if now - self._window_start >= self._budget_window_s:
            self._window_start, self._waited = now, 0.0
        seconds = min(seconds, self._wait_budget_s - self._waited)
        if seconds > 0:
            self._waited += seconds
            self._sleep(seconds)


_SENDER = DeadLetterSender()

send_dead_letter = _SENDER.send
""":meth:`DeadLetterSender.send` with the default limits and retries."""

send_dead_letter_of = _SENDER.send_of
""":meth:`DeadLetterSender.send_of` with the default limits and retries."""
