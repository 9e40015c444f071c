"""Dead letters can be listed and re-driven, each at most once per re-drive group."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from kairos.settings import Settings
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

    wanted = mix.dead_reasons["wrong_type"]
    result = redrive(
        topics.kafka, topics.topics.dead_letters, "redrive-test", accept=lambda dl: dl.reason == "wrong_type"
    )
    assert (result.redriven, result.scanned) == (wanted, sum(mix.dead_reasons.values()))
    again = redrive(topics.kafka, topics.topics.dead_letters, "redrive-test")
    assert again.scanned == 0  # progress was committed

    raw = read_all(topics.kafka, topics.topics.raw_events, topics.topics.partitions)
    redriven = [m for m in raw if REDRIVE_HEADER in dict(m.headers() or [])]
    assert len(redriven) == wanted
    run_until(topics, wanted)  # still invalid: dead-lettered a second time, nothing lost
    relisted = Counter(letter.reason for _, letter in iter_dead_letters(topics.kafka, topics.topics.dead_letters))
    assert relisted["wrong_type"] == 2 * wanted
