"""The publisher contract's key rule: a valid event keyed otherwise than by its partition key is re-keyed, before
de-duplication, so every copy of an event id is de-duplicated on one partition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.codec import EventDecoder, encode
from schemas.events import ProductView
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor, Verdict

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LOGGED_IN = encode(
    ProductView(
        event_id="e1",
        event_time=NOW,
        schema_version=1,
        session_id="s1",
        user_id="u1",
        anonymous_id="anon-7",
        product_id="p1",
        price=9.5,
    )
)


@pytest.fixture
def ingestor() -> Ingestor:
    return Ingestor(EventDecoder(), ClockRules())


@pytest.mark.parametrize("key", [b"anon-7", None, b"", b"U1", b"u1 "])
def test_a_copy_keyed_otherwise_is_rekeyed_and_not_remembered(ingestor: Ingestor, key: bytes | None) -> None:
    dedup = DedupWindow(100, 3600)
    verdict, event = ingestor.route(LOGGED_IN, dedup, NOW.timestamp(), key=key)
    assert verdict is Verdict.REKEY and isinstance(event, ProductView)
    assert "e1" not in dedup and dedup.watermark == float("-inf")
    # The copy it becomes, keyed by user_id, is de-duplicated where it lands.
    assert ingestor.route(LOGGED_IN, dedup, NOW.timestamp(), key=b"u1")[0] is Verdict.VALID
    assert ingestor.route(LOGGED_IN, dedup, NOW.timestamp(), key=b"u1")[0] is Verdict.DUPLICATE


def test_without_a_key_to_check_routing_is_unchanged(ingestor: Ingestor) -> None:
    dedup = DedupWindow(100, 3600)
    assert ingestor.route(LOGGED_IN, dedup, NOW.timestamp())[0] is Verdict.VALID


def test_bad_records_are_dead_whatever_their_key(ingestor: Ingestor) -> None:
    verdict, _ = ingestor.route(b"{", DedupWindow(100, 3600), NOW.timestamp(), key=b"someone")
    assert verdict is Verdict.DEAD


def test_remember_with_the_key_rebuilds_what_route_kept(ingestor: Ingestor) -> None:
    dedup = DedupWindow(100, 3600)
    ingestor.remember(LOGGED_IN, dedup, NOW.timestamp(), key=b"anon-7")
    assert "e1" not in dedup
    ingestor.remember(LOGGED_IN, dedup, NOW.timestamp(), key=b"u1")
    assert "e1" in dedup
