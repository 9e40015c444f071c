"""The one dead-letter sender: oversize letters truncated, failed produces retried with backoff, the hopeless
recorded and skipped — a dead letter never raises into a stage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from agents.dead_letter import DeadLetterSender
from schemas.deadletter import dead_letter_from_record
from schemas.errors import DeadLetterReason, PoisonMessageError
from streams.metrics import REGISTRY

ERROR = PoisonMessageError(DeadLetterReason.OVERSIZE, "too big")


class FakeProducer:
    """Records produce calls; ``refuse`` scripts a synchronous error per call, ``report`` a delivery error."""

    def __init__(self, refuse: list[int | None] | None = None, report: list[int | None] | None = None) -> None:
        self.refuse = list(refuse or [])
        self.report = list(report or [])
        self.sent: list[dict[str, Any]] = []
        self._callbacks: list[Callable[[KafkaError | None, Any], None]] = []

    def produce(self, topic: str, value: bytes, key: bytes | None, partition: int, **kw: Any) -> None:
        code = self.refuse.pop(0) if self.refuse else None
        if code is not None:
            raise KafkaException(KafkaError(code))
        self.sent.append({"topic": topic, "value": value, "key": key, "partition": partition, **kw})
        self._callbacks.append(kw["on_delivery"])

    def poll(self, _timeout: float) -> int:
        served = 0
        while self._callbacks:
            callback = self._callbacks.pop(0)
            code = self.report.pop(0) if self.report else None
            callback(KafkaError(code) if code is not None else None, None)
            served += 1
        return served


def send(
    producer: FakeProducer,
    sender: DeadLetterSender,
    raw: bytes,
    key: bytes | None = b"u1",
    error: PoisonMessageError = ERROR,
) -> None:
    sender.send_of(
        producer,  # type: ignore[arg-type]
        error,
        raw=raw,
        key=key,
        source_topic="kairos.events.raw.v1",
        source_partition=2,
        source_offset=77,
        source_timestamp_ms=None,
        stage="ingest",
        topic="kairos.deadletter.v1",
        now_s=1.0,
    )


def letters(producer: FakeProducer) -> list[Any]:
    return [dead_letter_from_record(s["key"], s["value"], s["headers"]) for s in producer.sent]


def counter(name: str, stage: str = "ingest", reason: str = "oversize") -> float:
    return REGISTRY.get_sample_value(name, {"stage": stage, "reason": reason}) or 0.0


def test_a_letter_that_fits_is_sent_whole_on_the_source_partition() -> None:
    producer = FakeProducer()
    send(producer, DeadLetterSender(), b'{"x": 1}')
    (letter,) = letters(producer)
    assert (letter.raw, letter.key, letter.truncated) == (b'{"x": 1}', b"u1", False)
    assert producer.sent[0]["partition"] == 2
    assert dict(producer.sent[0]["headers"])["kairos.src"] == b"kairos.events.raw.v1/2/77"


def test_an_oversize_letter_is_stored_as_a_prefix_with_size_and_digest() -> None:
    producer = FakeProducer()
    raw = b"x" * 5000
    before = counter("kairos_dead_letters_truncated_total")
    send(producer, DeadLetterSender(max_bytes=2000, keep_bytes=100), raw)
    (letter,) = letters(producer)
    assert letter.raw == raw[:100] and letter.original_size == 5000
    assert letter.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("kairos.events.raw.v1", 2, 77)
    assert counter("kairos_dead_letters_truncated_total") == before + 1


def test_a_size_refusal_shrinks_the_letter_prefix_then_headers_only() -> None:
    waits: list[float] = []
    too_large = KafkaError.MSG_SIZE_TOO_LARGE
    producer = FakeProducer(refuse=[too_large, too_large])
    send(producer, DeadLetterSender(keep_bytes=100, sleep=waits.append), b"y" * 500)
    (letter,) = letters(producer)
    assert letter.raw == b"" and letter.original_size == 500  # a reference to the source record
    assert waits == [0.1, 0.2]


def test_a_failed_delivery_is_retried_with_backoff_until_acknowledged() -> None:
    waits: list[float] = []
    producer = FakeProducer(report=[KafkaError._MSG_TIMED_OUT, KafkaError._MSG_TIMED_OUT])
    send(producer, DeadLetterSender(sleep=waits.append), b"{}")
    producer.poll(0)
    assert len(producer.sent) == 3 and waits == [0.1, 0.2]
    assert {s["value"] for s in producer.sent} == {b"{}"}


@pytest.mark.parametrize("how", ["refused", "reported"])
def test_a_letter_that_can_never_be_sent_is_recorded_and_skipped(how: str, caplog: pytest.LogCaptureFixture) -> None:
    waits: list[float] = []
    codes = [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 10
    producer = FakeProducer(refuse=codes) if how == "refused" else FakeProducer(report=codes)
    before = counter("kairos_dead_letters_undeliverable_total")
    send(producer, DeadLetterSender(attempts=4, backoff_s=0.5, max_backoff_s=1.0, sleep=waits.append), b"{}")
    producer.poll(0)  # no exception reaches the stage
    assert waits == [0.5, 1.0, 1.0]
    assert counter("kairos_dead_letters_undeliverable_total") == before + 1
    assert "source=kairos.events.raw.v1/2/77" in caplog.text


def test_a_long_detail_is_bounded() -> None:
    producer = FakeProducer()
    error = PoisonMessageError(DeadLetterReason.WRONG_TYPE, "d" * 100_000, "$" + ".a" * 50_000)
    send(producer, DeadLetterSender(), b"{}", error=error)
    (letter,) = letters(producer)
    assert len(letter.detail) == 1024 and letter.field is not None and len(letter.field) == 1024


def test_waits_are_bounded_when_many_letters_fail_at_once() -> None:
    waits: list[float] = []
    codes = [KafkaError._MSG_TIMED_OUT] * 1000
    producer = FakeProducer(report=codes)
    sender = DeadLetterSender(attempts=3, wait_budget_s=1.0, sleep=waits.append, clock=lambda: 0.0)
    for _ in range(100):
        send(producer, sender, b"{}")
    producer.poll(0)
    assert sum(waits) == pytest.approx(1.0)  # not 100 x (0.1 + 0.2)
