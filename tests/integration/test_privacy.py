"""Privacy on the real broker and a real Feast store (SQLite): ingest pseudonymises every shopper id before anything
downstream, ``kairos forget`` erases a shopper from a running feature stage, and a consent revocation holds from the
next trigger on (docs/privacy.md)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from featurestore.config import FeatureStoreConfig
from featurestore.erasure import erase_online
from featurestore.hot import FeatureCache
from featurestore.reader import FeastSdkReader
from featurestore.store import open_store
from featurestore.views import VIEWS
from featurestore.writer import OnlineFeatureWriter
from kairos.privacy import forget_user
from kairos.settings import PrivacyConfig, Settings
from kairos.worker import feature_loop, feature_store_config, ingest_loop
from schemas.codec import EventDecoder, StructDecoder, encode
from schemas.decisions import Decision, InterventionType
from schemas.events import ConsentUpdate, Event, PageView, ProductView
from streams.checkpoint import load_checkpoint
from streams.pseudonym import kafka_partition, pseudonymise
from streams.reader import read_topic
from tests.integration.kafka_io import produce_all
from tests.integration.test_feature_stage import run_loop, simulated_events
from tests.integration.test_featurestore import _row, config, redis_url  # noqa: F401 - fixtures (SQLite, Redis)

pytestmark = pytest.mark.integration

SECRET = "integration-test-key-0123456789abcdef"
PERSONALISED = {
    InterventionType.UPSELL,
    InterventionType.CROSS_SELL,
    InterventionType.DISCOUNT,
    InterventionType.CONCIERGE_MESSAGE,
}


def _private(settings: Settings) -> Settings:
    return dataclasses.replace(settings, privacy=PrivacyConfig(pseudonymise=True, key=SECRET))


def _ingest_and_features(settings: Settings, raw: list[tuple[bytes, bytes]], cache: FeatureCache) -> int:
    """Raw records through ingest and the feature stage (deciding with the fallback policy); returns the events."""
    topics = settings.topics
    produce_all(settings.kafka, topics.raw_events, raw)
    run_loop(settings, ingest_loop(settings), settings.ingest.group_id, topics.raw_events, len(raw))
    events = len(read_topic(settings.kafka, topics.events, topics.partitions))
    run_loop(settings, feature_loop(settings, cache), f"{topics.namespace}-features", topics.events, events)
    return events


def _decisions(settings: Settings) -> list[Decision]:
    decode = StructDecoder(Decision).decode
    topics = settings.topics
    return [decode(m.value() or b"") for m in read_topic(settings.kafka, topics.interventions, topics.partitions)]


def _history_keys(settings: Settings) -> list[str]:
    parts = (Path(settings.worker.data_dir) / "feast" / "offline" / "kairos_user").glob("*.parquet")
    return [k for part in parts for k in pq.read_table(part)["user_id"].to_pylist()]


def test_ingest_pseudonymises_every_id_and_forget_erases_a_running_stages_user(topics: Settings) -> None:
    settings = _private(topics)
    key = SECRET.encode()
    raw = simulated_events(60)
    decode = EventDecoder().decode
    originals = {e.event_id: e for e in (decode(v) for _, v in raw)}
    raw_ids = {i for e in originals.values() for i in (e.user_id, e.anonymous_id) if i is not None}
    cache = FeatureCache()
    n_events = _ingest_and_features(settings, raw, cache)
    assert n_events == len(originals)

    # Nothing downstream carries a publisher's id: events (values and keys), decisions, features.
    for msg in read_topic(settings.kafka, settings.topics.events, settings.topics.partitions):
        event, original = decode(msg.value() or b""), originals[decode(msg.value() or b"").event_id]
        assert event.user_id == (pseudonymise(original.user_id, key) if original.user_id else None)
        assert event.anonymous_id == (pseudonymise(original.anonymous_id, key) if original.anonymous_id else None)
        assert msg.key() == event.partition_key.encode()
        assert not any(i.encode() in (msg.value() or b"") for i in raw_ids)
        # on the partition the publisher's key hashes to: where `kairos forget` sends the erasure record
        assert msg.partition() == kafka_partition(original.partition_key.encode(), settings.topics.partitions)
    decisions = _decisions(settings)
    assert decisions, "no decisions"
    assert not raw_ids & ({d.user_id for d in decisions} | {d.anonymous_id for d in decisions})
    assert cache.users and not raw_ids & set(cache.users)

    # A user with a decision (so guard state), a hot row, a Feast row and history rows.
    forgotten = next(e.partition_key for e in originals.values() if e.user_id is not None)
    pseudonym = pseudonymise(forgotten, key)
    assert any(d.user_id == pseudonym for d in decisions) or pytest.fail("the chosen user got no decision")
    store = FeastSdkReader(open_store(feature_store_config(settings)))
    assert pseudonym in cache.users and pseudonym in _history_keys(settings)
    assert any(v is not None for v in store.read(pseudonym, "none", [])["user"].values())
    others = set(cache.users) - {pseudonym}

    # `kairos forget` against a running feature stage (same process: the same hot copy).
    topics_ = settings.topics
    loop = feature_loop(settings, cache)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        result = forget_user(settings, forgotten, wait_s=90)
    finally:
        stop.set()
        thread.join(60)
    assert result.erased and result.user_key == pseudonym
    assert result.partition == kafka_partition(forgotten.encode(), topics_.partitions)

    assert pseudonym not in cache.users
    assert set(cache.users) == others  # nobody else
    assert all(v is None for v in store.read(pseudonym, "none", [])["user"].values())
    assert pseudonym not in _history_keys(settings)
    assert others & set(_history_keys(settings))
    checkpoint = load_checkpoint(
        Path(settings.worker.data_dir) / "checkpoints", "features", topics_.events, result.partition
    )
    assert checkpoint is not None and checkpoint[0] > result.offset
    state, _models, guards = checkpoint[1]
    assert state.user_row(pseudonym, datetime.now(UTC)) is None
    assert guards is not None and pseudonym not in guards.users
    assert any(state.user_row(k, datetime.now(UTC)) for k in others)


def _raw(event: Event) -> tuple[bytes, bytes]:
    return event.partition_key.encode(), encode(event)


def test_a_consent_revocation_holds_from_the_next_trigger(topics: Settings) -> None:
    settings = _private(topics)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    base = {"schema_version": 1, "session_id": "sess-consent", "user_id": "shopper-consent"}

    def when(i: int) -> dict[str, object]:
        return {"event_id": f"consent-{i}", "event_time": at + timedelta(seconds=10 * i), **base}

    events: list[Event] = [
        PageView(page_type="home", **when(0)),  # type: ignore[arg-type]
        ConsentUpdate(personalisation=True, marketing=True, **when(1)),  # type: ignore[arg-type]
        ProductView(product_id="p-1", category="garden", price=20.0, **when(2)),  # type: ignore[arg-type]
        ConsentUpdate(personalisation=False, **when(3)),  # type: ignore[arg-type]
        ProductView(product_id="p-2", category="garden", price=25.0, **when(4)),  # type: ignore[arg-type]
    ]
    _ingest_and_features(settings, [_raw(e) for e in events], FeatureCache())
    by_trigger = {d.trigger_event_id: d for d in _decisions(settings)}
    granted, revoked = by_trigger["consent-2"], by_trigger["consent-4"]
    assert granted.user_id == revoked.user_id == pseudonymise("shopper-consent", SECRET.encode())

    # With consent, personalised candidates were open to the policy; the mask had something to remove.
    assert "consent_personalisation" not in granted.guardrails
    assert any(c.action.type in PERSONALISED for c in granted.candidates)
    # After the revocation, the very next trigger: personalisation is masked and none of it is chosen.
    assert "consent_personalisation" in revoked.guardrails
    assert revoked.action.type not in PERSONALISED
    assert all(c.propensity == 0 for c in revoked.candidates if c.action.type in PERSONALISED)


def test_erasing_one_user_leaves_the_others_in_either_online_store(config: FeatureStoreConfig) -> None:  # noqa: F811
    store = open_store(config)
    writer = OnlineFeatureWriter(store)
    user, session = VIEWS[0], VIEWS[1]
    tag = datetime.now(UTC).strftime("%H%M%S%f")  # a shared Redis may hold other tests' keys
    now = datetime.now(UTC)
    gone, kept = f"gone-{tag}", f"kept-{tag}"
    writer.write(user.name, [_row(user, gone, 1, now), _row(user, kept, 2, now)])
    writer.write(session.name, [_row(session, f"s-{tag}", 3, now)])
    reader = FeastSdkReader(store)
    assert all(v is not None for v in reader.read(gone, f"s-{tag}", [])["user"].values())
    writer.erase(user.name, [gone])
    got = reader.read(gone, f"s-{tag}", [])
    assert all(v is None for v in got["user"].values())
    assert all(v is not None for v in got["session"].values())  # another entity's row stays
    assert all(v is not None for v in reader.read(kept, "none", [])["user"].values())
    assert erase_online(store, user, [gone]) == 0  # nothing left to erase
