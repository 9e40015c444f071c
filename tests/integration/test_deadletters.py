"""Dead letters can be listed and re-driven, each at most once per re-drive group."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from agents.dead_letter import send_dead_letter_of
from kairos.settings import Settings
from schemas.errors import DeadLetterReason, PoisonMessageError
from streams.clients import producer_config
from streams.deadletters import REDRIVE_HEADER, iter_dead_letters, redrive
from tests.integration.kafka_io import produce_all, read_all
from tests.integration.records import make_mix
from tests.integration.test_ingest import run_until

pytestmark = pytest.mark.integration


def test_list_and_redrive_by_reason_once_per_group(topics: Settings) -> None:
    mix = make_mix(600, seed=9, now=datetime.now(UTC), bad_share=0.3, dup_share=0.0)
    produce_all(topics.kafka, topics.topics.raw_events, mix.records)
    run_until(topics, len(mix.records))
    listed = Counter(letter.reason for _, letter in iter_dead_letters(topics.kafka, topics.topics.dead_letters))
    assert listed == mix.dead_reasons

    dlq, sources = topics.topics.dead_letters, {topics.topics.raw_events}
    wanted = mix.dead_reasons["wrong_type"]
    ticks: list[int] = []
    result = redrive(topics.kafka, dlq, "redrive-test", sources=sources, reason="wrong_type", on_scanned=ticks.append)
    assert (result.redriven, result.scanned, result.refused) == (wanted, sum(mix.dead_reasons.values()), {})
    assert sum(ticks) == result.scanned, "the progress callback counts every letter scanned"
    assert result.skipped == sum(mix.dead_reasons.values()) - wanted
    again = redrive(topics.kafka, dlq, "redrive-test", sources=sources, reason="wrong_type")
    assert (again.scanned, again.redriven) == (0, 0)  # its progress was committed

    # The letters the first run passed over were not committed: another reason's re-drive still finds them all.
    other = mix.dead_reasons["malformed_json"]
    assert other > 0
    later = redrive(topics.kafka, dlq, "redrive-test", sources=sources, reason="malformed_json")
    assert later.redriven == other

    raw = read_all(topics.kafka, topics.topics.raw_events, topics.topics.partitions)
    redriven = [m for m in raw if REDRIVE_HEADER in dict(m.headers() or [])]
    assert len(redriven) == wanted + other
    run_until(topics, wanted + other)  # still invalid: dead-lettered a second time, nothing lost
    relisted = Counter(letter.reason for _, letter in iter_dead_letters(topics.kafka, topics.topics.dead_letters))
    assert relisted["wrong_type"] == 2 * wanted and relisted["malformed_json"] == 2 * other

    # Every reason at once: only what no run of this group re-drove yet (the second-generation letters and the
    # reasons never re-driven).
    rest = redrive(topics.kafka, dlq, "redrive-test", sources=sources)
    assert rest.redriven == sum(mix.dead_reasons.values())


def test_letters_of_derived_topics_and_truncated_letters_are_refused(topics: Settings) -> None:
    names = topics.topics
    producer = Producer(producer_config(topics.kafka, **{"enable.idempotence": True}))
    event = b'{"event_type": "purchase"}'
    letter = {"key": b"u1", "source_partition": 1, "source_timestamp_ms": None, "topic": names.dead_letters}
    error = PoisonMessageError(DeadLetterReason.UNATTRIBUTED, "no decision")
    send_dead_letter_of(
        producer, error, raw=event, source_topic=names.events, source_offset=5, stage="attribute", now_s=1.0, **letter
    )
    oversize = PoisonMessageError(DeadLetterReason.OVERSIZE, "too big")
    huge = b"x" * 2_000_000
    send_dead_letter_of(
        producer,
        oversize,
        raw=huge,
        source_topic=names.raw_events,
        source_offset=9,
        stage="ingest",
        now_s=1.0,
        **letter,
    )
    assert producer.flush(30) == 0

    dry = redrive(topics.kafka, names.dead_letters, "refusals", sources={names.raw_events}, dry_run=True)
    assert dry.redriven == 0 and sum(dry.refused.values()) == 2
    assert any("attribute" in why and "derived topic" in why for why in dry.refused)
    assert any("truncated" in why for why in dry.refused)

    result = redrive(topics.kafka, names.dead_letters, "refusals", sources={names.raw_events})
    assert result.redriven == 0 and result.refused == dry.refused
    for topic in (names.events, names.raw_events):  # nothing went anywhere
        assert read_all(topics.kafka, topic, names.partitions) == []
    assert redrive(topics.kafka, names.dead_letters, "refusals", sources={names.raw_events}).refused == {}
