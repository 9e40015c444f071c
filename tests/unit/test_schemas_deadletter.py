"""Dead letters: raw bytes and key untouched, metadata in ``kairos.dlq.*`` headers, and back again."""

from __future__ import annotations

import pytest

from schemas import (
    HEADER_PREFIX,
    DeadLetter,
    DeadLetterReason,
    EventDecoder,
    PoisonMessageError,
    dead_letter_for,
    dead_letter_from_record,
    dead_letter_headers,
)

FULL = DeadLetter(
    reason="wrong_type",
    detail="Expected `int`, got `str` — ünïcode",
    field="$.items[0].quantity",
    stage="ingest",
    error_type="PoisonMessageError",
    source_topic="kairos.events.v1",
    source_partition=5,
    source_offset=123_456_789_012,
    source_timestamp_ms=1_763_719_200_123,
    dead_lettered_at_ms=1_763_719_201_000,
    raw=b'{"event_type": "purchase", \xff not even utf-8',
    key=b"u-1",
)
MINIMAL = DeadLetter(
    reason="malformed_json",
    detail="Input data was truncated",
    stage="ingest",
    error_type="PoisonMessageError",
    source_topic="kairos.events.v1",
    source_partition=0,
    source_offset=0,
    dead_lettered_at_ms=0,
    raw=b"",
)


@pytest.mark.parametrize("letter", [FULL, MINIMAL], ids=["full", "minimal"])
def test_headers_round_trip(letter: DeadLetter) -> None:
    assert dead_letter_from_record(letter.key, letter.raw, dead_letter_headers(letter)) == letter


def test_header_names_values_and_omissions() -> None:
    headers = dict(dead_letter_headers(FULL))
    assert all(name.startswith(HEADER_PREFIX) for name in headers)
    assert headers == {
        "kairos.dlq.reason": b"wrong_type",
        "kairos.dlq.detail": "Expected `int`, got `str` — ünïcode".encode(),
        "kairos.dlq.field": b"$.items[0].quantity",
        "kairos.dlq.stage": b"ingest",
        "kairos.dlq.error_type": b"PoisonMessageError",
        "kairos.dlq.source_topic": b"kairos.events.v1",
        "kairos.dlq.source_partition": b"5",
        "kairos.dlq.source_offset": b"123456789012",
        "kairos.dlq.source_timestamp_ms": b"1763719200123",
        "kairos.dlq.dead_lettered_at_ms": b"1763719201000",
    }
    minimal = {name for name, _ in dead_letter_headers(MINIMAL)}
    assert minimal == set(headers) - {"kairos.dlq.field", "kairos.dlq.source_timestamp_ms"}


def test_foreign_headers_are_ignored_and_mappings_accepted() -> None:
    headers = [("traceparent", b"00-abc"), *dead_letter_headers(FULL), ("kairos.redrive.of", b"x/0/1")]
    assert dead_letter_from_record(FULL.key, FULL.raw, headers) == FULL
    assert dead_letter_from_record(FULL.key, FULL.raw, dict(dead_letter_headers(FULL))) == FULL


def test_repeated_header_keeps_the_last_value() -> None:
    headers = [*dead_letter_headers(MINIMAL), ("kairos.dlq.stage", b"decide")]
    assert dead_letter_from_record(None, b"", headers).stage == "decide"


def test_null_value_reads_as_empty_bytes() -> None:
    assert dead_letter_from_record(None, None, dead_letter_headers(MINIMAL)).raw == b""


@pytest.mark.parametrize(
    "name",
    [
        "kairos.dlq.reason",
        "kairos.dlq.detail",
        "kairos.dlq.stage",
        "kairos.dlq.error_type",
        "kairos.dlq.source_topic",
        "kairos.dlq.source_partition",
        "kairos.dlq.source_offset",
        "kairos.dlq.dead_lettered_at_ms",
    ],
)
def test_missing_required_header_is_poison(name: str) -> None:
    headers = [(key, value) for key, value in dead_letter_headers(FULL) if key != name]
    with pytest.raises(PoisonMessageError) as info:
        dead_letter_from_record(FULL.key, FULL.raw, headers)
    assert (info.value.reason, info.value.field) == (DeadLetterReason.MISSING_FIELD, name)


@pytest.mark.parametrize("headers", [None, []], ids=["none", "empty"])
def test_a_record_without_headers_is_poison(headers: list[tuple[str, bytes]] | None) -> None:
    with pytest.raises(PoisonMessageError) as info:
        dead_letter_from_record(None, b"{}", headers)
    assert info.value.reason is DeadLetterReason.MISSING_FIELD


def test_non_integer_coordinate_is_wrong_type() -> None:
    headers = [*dead_letter_headers(FULL), ("kairos.dlq.source_offset", b"12a")]
    with pytest.raises(PoisonMessageError) as info:
        dead_letter_from_record(FULL.key, FULL.raw, headers)
    assert (info.value.reason, info.value.field) == (DeadLetterReason.WRONG_TYPE, "kairos.dlq.source_offset")


def test_dead_letter_for_a_poison_message_keeps_reason_and_path() -> None:
    raw = b'{"event_type": "purchase"}'
    with pytest.raises(PoisonMessageError) as info:
        EventDecoder().decode(raw)
    letter = dead_letter_for(
        info.value,
        raw=raw,
        key=b"u-1",
        stage="ingest",
        source_topic="kairos.events.v1",
        source_partition=2,
        source_offset=9,
        source_timestamp_ms=None,
        dead_lettered_at_ms=5,
    )
    assert (letter.reason, letter.field, letter.error_type) == (
        "missing_field",
        "$.event_id",
        "PoisonMessageError",
    )
    assert (letter.raw, letter.key, letter.source_offset) == (raw, b"u-1", 9)
    assert dead_letter_from_record(letter.key, letter.raw, dead_letter_headers(letter)) == letter


def test_dead_letter_for_any_other_error_uses_its_class_name() -> None:
    letter = dead_letter_for(
        TimeoutError("triton took 80 ms"),
        raw=None,
        key=None,
        stage="decide",
        source_topic="kairos.events.v1",
        source_partition=0,
        source_offset=1,
        source_timestamp_ms=7,
        dead_lettered_at_ms=8,
    )
    assert (letter.reason, letter.detail, letter.error_type, letter.field, letter.raw) == (
        "TimeoutError",
        "triton took 80 ms",
        "TimeoutError",
        None,
        b"",
    )


def test_text_header_values_are_accepted() -> None:
    headers = [(name, value.decode()) for name, value in dead_letter_headers(FULL)]
    assert dead_letter_from_record(FULL.key, FULL.raw, headers) == FULL
