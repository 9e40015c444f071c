"""Ingest routing: every bad record gets its named reason; clock and duplicates are checked in event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas.codec import EventDecoder, encode
from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import ProductView
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor, Verdict

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def view(event_id: str = "e1", at: datetime = NOW) -> bytes:
    return encode(
        ProductView(
            event_id=event_id,
            event_time=at,
            schema_version=1,
            session_id="s1",
            user_id="u1",
            product_id="p1",
            price=9.5,
        )
    )


@pytest.fixture
def ingestor() -> Ingestor:
    return Ingestor(EventDecoder(max_bytes=4096), ClockRules(max_future_skew_s=300, max_past_skew_s=86400))


def route(ingestor: Ingestor, raw: bytes | None, dedup: DedupWindow | None = None) -> tuple[Verdict, object]:
    return ingestor.route(raw, dedup if dedup is not None else DedupWindow(100, 3600), NOW.timestamp())


def test_valid_event_is_routed_with_its_decoded_value(ingestor: Ingestor) -> None:
    verdict, event = route(ingestor, view())
    assert verdict is Verdict.VALID
    assert isinstance(event, ProductView)
    assert event.partition_key == "u1"


def test_second_copy_is_a_duplicate_even_if_the_bytes_differ(ingestor: Ingestor) -> None:
    dedup = DedupWindow(100, 3600)
    assert route(ingestor, view("e1"), dedup)[0] is Verdict.VALID
    assert route(ingestor, view("e1", NOW - timedelta(seconds=3)), dedup)[0] is Verdict.DUPLICATE
    assert route(ingestor, view("e2"), dedup)[0] is Verdict.VALID


def _mutate(**changes: object) -> bytes:
    obj = orjson.loads(view())
    for key, value in changes.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    return orjson.dumps(obj)


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b'{"event_type": "product_view", ', DeadLetterReason.MALFORMED_JSON, None),
        (None, DeadLetterReason.MALFORMED_JSON, None),
        (b"[1, 2]", DeadLetterReason.NOT_AN_OBJECT, "$"),
        (b'{"x": "' + b"a" * 5000 + b'"}', DeadLetterReason.OVERSIZE, None),
        (_mutate(event_type="teleport"), DeadLetterReason.UNKNOWN_EVENT_TYPE, "$.event_type"),
        (_mutate(event_id=None), DeadLetterReason.MISSING_FIELD, "$.event_id"),
        (_mutate(price="cheap"), DeadLetterReason.WRONG_TYPE, "$.price"),
        (_mutate(price=-1), DeadLetterReason.INVALID_VALUE, "$.price"),
        (_mutate(schema_version=2), DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version"),
        (_mutate(user_id=None), DeadLetterReason.MISSING_IDENTITY, None),
        (_mutate(event_time="2026-11-22T12:00:00Z"), DeadLetterReason.CLOCK_SKEW_FUTURE, "$.event_time"),
        (_mutate(event_time="2026-11-01T12:00:00Z"), DeadLetterReason.CLOCK_SKEW_PAST, "$.event_time"),
    ],
)
def test_each_bad_record_is_dead_with_its_reason(
    ingestor: Ingestor, raw: bytes | None, reason: DeadLetterReason, field: str | None
) -> None:
    verdict, error = route(ingestor, raw)
    assert verdict is Verdict.DEAD
    assert isinstance(error, PoisonMessageError)
    assert error.reason is reason
    if field is not None:
        assert error.field == field
    assert error.detail


def test_skew_limits_are_inclusive_bounds(ingestor: Ingestor) -> None:
    assert route(ingestor, view(at=NOW + timedelta(seconds=299)))[0] is Verdict.VALID
    assert route(ingestor, view("e2", at=NOW + timedelta(seconds=301)))[0] is Verdict.DEAD


def test_dead_records_do_not_enter_the_dedup_window(ingestor: Ingestor) -> None:
    dedup = DedupWindow(100, 3600)
    skewed = view("e9", at=NOW + timedelta(days=1))
    assert route(ingestor, skewed, dedup)[0] is Verdict.DEAD
    assert "e9" not in dedup


def test_remember_rebuilds_dedup_without_routing(ingestor: Ingestor) -> None:
    dedup = DedupWindow(100, 3600)
    ingestor.remember(view("e1"), dedup, NOW.timestamp())
    ingestor.remember(b"garbage", dedup, NOW.timestamp())
    ingestor.remember(view("future", at=NOW + timedelta(days=2)), dedup, NOW.timestamp())
    assert "e1" in dedup and len(dedup) == 1
    assert dedup.watermark == NOW.timestamp()  # the skewed event did not move it
    assert route(ingestor, view("e1"), dedup)[0] is Verdict.DUPLICATE


def test_truncated_document_is_malformed_even_when_a_field_fails_first(ingestor: Ingestor) -> None:
    verdict, error = route(ingestor, b'{"event_type": "page_view", "event_id": 3')
    assert verdict is Verdict.DEAD
    assert isinstance(error, PoisonMessageError)
    assert error.reason is DeadLetterReason.MALFORMED_JSON
