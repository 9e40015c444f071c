"""Fuzz: 100,000 hostile records through the pure ingest path (decode, validate, clock, key, de-duplicate, and the
dead letter each bad one becomes). No record may raise; every one is passed on or dead-lettered with a reason."""

from __future__ import annotations

import json
import time
from collections import Counter

from hypothesis import given

from agents.dead_letter import KEEP_BYTES, MAX_RECORD_BYTES
from schemas.codec import EventDecoder, encode
from schemas.deadletter import (
    dead_letter_for,
    dead_letter_from_record,
    dead_letter_headers,
    dead_letter_size,
    fit_dead_letter,
)
from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import Event
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor, Verdict
from tests.hostile import Mutated, fuzz_settings, hostile_batches

PER_EXAMPLE = 50
EXAMPLES = 2_000  # x 50 = 100,000 records

INGESTOR = Ingestor(EventDecoder(), ClockRules())
DECODE = EventDecoder().decode
DEDUP = DedupWindow(100_000, 3600.0)
OUTCOMES: Counter[str] = Counter()
FAMILIES: Counter[str] = Counter()


def check(record: Mutated, now: float) -> str:
    """Route one record and check what became of it; returns its outcome (a verdict or a dead-letter reason)."""
    family, _, key, raw = record
    verdict, payload = INGESTOR.route(raw, DEDUP, now, key=key)
    if verdict is Verdict.DEAD:
        assert isinstance(payload, PoisonMessageError) and payload.reason in DeadLetterReason and payload.detail
        letter = fit_dead_letter(
            dead_letter_for(
                payload,
                raw=raw,
                key=key,
                stage="ingest",
                source_topic="raw",
                source_partition=0,
                source_offset=0,
                source_timestamp_ms=None,
                dead_lettered_at_ms=0,
            ),
            MAX_RECORD_BYTES,
            KEEP_BYTES,
        )
        assert dead_letter_size(letter) <= MAX_RECORD_BYTES
        assert dead_letter_from_record(letter.key, letter.raw, dead_letter_headers(letter)) == letter
        assert letter.truncated or letter.raw == raw
        return f"dead:{payload.reason.value}"
    assert isinstance(payload, Event), (family, verdict)
    assert (verdict is Verdict.REKEY) == (key != payload.partition_key.encode())
    if verdict is Verdict.VALID:
        assert DECODE(encode(payload)) == payload  # what passed is a well-formed event of its contract
    return verdict.name.lower()


@fuzz_settings(EXAMPLES)
@given(hostile_batches(PER_EXAMPLE))
def route_hostile_batch(batch: list[Mutated]) -> None:
    now = time.time()
    for record in batch:
        OUTCOMES[check(record, now)] += 1
        FAMILIES[record[0]] += 1


def test_one_hundred_thousand_hostile_records_route_without_a_crash() -> None:
    OUTCOMES.clear()
    FAMILIES.clear()
    started = time.perf_counter()
    route_hostile_batch()
    seconds = time.perf_counter() - started
    total = sum(OUTCOMES.values())
    assert total >= EXAMPLES * PER_EXAMPLE
    assert sum(n for outcome, n in OUTCOMES.items() if outcome.startswith("dead:")) > total // 4
    assert OUTCOMES["valid"] > 0 and OUTCOMES["rekey"] > 0 and OUTCOMES["duplicate"] > 0
    print(json.dumps({"records": total, "seconds": round(seconds, 1), "outcomes": dict(OUTCOMES.most_common())}))
    print(json.dumps({"families": dict(FAMILIES.most_common())}))


def test_deep_nesting_is_a_dead_letter_not_a_crash() -> None:
    """Found by this fuzzer: ~1,000 nested arrays (2 KB) raised RecursionError out of msgspec and stopped ingest."""
    for raw in (b"[" * 5000, b'{"event_type":"page_view","x":' + b"[" * 3000 + b"]" * 3000 + b"}"):
        verdict, error = INGESTOR.route(raw, DedupWindow(10, 60.0), time.time())
        assert verdict is Verdict.DEAD and isinstance(error, PoisonMessageError)
        assert error.reason is DeadLetterReason.MALFORMED_JSON
