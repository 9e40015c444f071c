"""Replay's pure pieces: the records clock of ingest, the stream clock, isolation, ranges, policies, rounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.ingest import IngestHandler, PartitionState
from kairos.replay.driver import _rounds
from kairos.replay.errors import ReplayIsolationError
from kairos.replay.isolation import NamespacedProducer, replay_settings
from kairos.replay.policy import LocalScorer, resolve_policy
from kairos.replay.source import SliceSource
from kairos.serving import policy_parts
from kairos.settings import Settings, SettingsError
from serving.learning import policy_weights
from streams.archive import ArchivedRecord
from streams.config import IngestConfig, KafkaConfig, TopicsConfig
from streams.dedup import DedupWindow

OLD = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeMessage:
    raw: bytes
    ts_ms: int | None
    off: int = 0

    def value(self) -> bytes:
        return self.raw

    def key(self) -> bytes:
        return b"u-1"

    def topic(self) -> str:
        return "kairos.events.raw.v1"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.off

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, self.ts_ms) if self.ts_ms is not None else (0, -1)


@dataclass
class FakeProducer:
    sent: list[tuple[str, Any]] = field(default_factory=list)

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        self.sent.append((topic, kwargs.get("headers")))

    def poll(self, timeout: float = 0) -> int:
        return 0


def _event(at: datetime, event_id: str) -> bytes:
    return (
        b'{"event_type":"page_view","schema_version":1,"event_id":"%s","event_time":"%s","user_id":"u-1",'
        b'"session_id":"s-1","page_type":"home"}' % (event_id.encode(), at.isoformat().encode())
    )


@pytest.mark.parametrize(("clock", "valid"), [("records", True), ("wall", False)])
def test_ingest_checks_old_records_against_their_own_timestamps_in_records_mode(clock: str, valid: bool) -> None:
    handler = IngestHandler(KafkaConfig(), TopicsConfig(), IngestConfig(clock=clock))
    handler.partitions[0] = PartitionState(DedupWindow(100, 3600.0), -1, -1)
    producer = FakeProducer()
    stamp = int(OLD.timestamp() * 1000)
    handler.handle([FakeMessage(_event(OLD, "e-1"), stamp)], producer)  # type: ignore[list-item, arg-type]
    [(topic, _)] = producer.sent
    assert (topic == "kairos.events.v1") is valid
    if not valid:
        assert topic == "kairos.deadletter.v1"


def test_records_mode_still_dead_letters_events_far_ahead_of_their_record() -> None:
    handler = IngestHandler(KafkaConfig(), TopicsConfig(), IngestConfig(clock="records"))
    handler.partitions[0] = PartitionState(DedupWindow(100, 3600.0), -1, -1)
    producer = FakeProducer()
    stamp = int(OLD.timestamp() * 1000) - 3_600_000  # the event claims to be an hour after it was logged
    handler.handle([FakeMessage(_event(OLD, "e-2"), stamp)], producer)  # type: ignore[list-item, arg-type]
    assert [t for t, _ in producer.sent] == ["kairos.deadletter.v1"]


def test_an_unknown_ingest_clock_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ingest\.clock"):
        IngestHandler(KafkaConfig(), TopicsConfig(), IngestConfig(clock="sundial"))


def test_the_replay_producer_refuses_production_topics() -> None:
    producer = NamespacedProducer(replay_settings(Settings(), "r-1"))
    for topic in ("kairos.events.v1", "kairos.interventions.v1", "r-10.events.v1"):
        with pytest.raises(ReplayIsolationError, match=topic):
            producer.produce(topic, b"x")


@pytest.mark.parametrize("namespace", ["kairos", "", "a.b", "x" * 70, "-lead"])
def test_a_replay_needs_a_namespace_of_its_own(namespace: str) -> None:
    with pytest.raises(SettingsError):
        replay_settings(Settings(), namespace)


def test_policies_rules_seeded_and_file(tmp_path: Path) -> None:
    assert resolve_policy("rules", Settings()).local() is None
    initial = resolve_policy("1", Settings())
    assert initial.policy is not None and initial.model_version == 1
    trained = policy_parts(Settings()).policy
    trained.updates = 7
    for p in trained.scorer.parameters():
        p.data.add_(0.5)
    (tmp_path / "weights.pt").write_bytes(policy_weights(trained))
    loaded = resolve_policy(str(tmp_path / "weights.pt"), Settings())
    assert loaded.policy is not None
    state = np.ones((2, initial.policy.scorer.state_dim), dtype=np.float32)
    cands = np.ones((2, 3, initial.policy.scorer.action_dim), dtype=np.float32)
    mask = np.ones((2, 3), dtype=bool)
    local = LocalScorer(loaded.policy, 0)
    assert np.allclose(local.score_sync(state, cands, mask), trained.scores(state, cands, mask), atol=1e-6)
    seeded = LocalScorer(initial.policy, 1).score_sync(state, cands, mask)
    assert not np.allclose(seeded, local.score_sync(state, cands, mask))
    with pytest.raises(SettingsError, match="no policy weights"):
        resolve_policy(str(tmp_path / "missing.pt"), Settings())


def test_rounds_take_the_same_share_of_every_partition() -> None:
    def records(p: int, n: int) -> Any:
        return iter([ArchivedRecord("t", p, i, i, None, (), b"") for i in range(n)])

    source = SliceSource("x", {1: records(1, 5), 0: records(0, 2)})
    rounds = [[(r.partition, r.offset) for r in batch] for batch in _rounds(source, 2)]
    assert rounds == [[(0, 0), (0, 1), (1, 0), (1, 1)], [(1, 2), (1, 3)], [(1, 4)]]


@pytest.mark.parametrize("damage", ["truncate", "not_parquet", "newer"])
def test_a_bad_archive_is_named_before_the_namespace_is_touched(tmp_path: Path, damage: str) -> None:
    import pyarrow.parquet as pq

    from kairos.replay.command import replay
    from streams.archive import ArchiveFileError, ArchiveWriter, Manifest, open_archive
    from streams.archive.format import SCHEMA_VERSION_KEY
    from tests.integration.replay_support import with_replay_dir

    production = with_replay_dir(Settings(), tmp_path / "replays")
    raw = production.topics.raw_events
    root = tmp_path / "archive"
    writer = ArchiveWriter(root, Manifest())
    for i in range(30):
        writer.append(ArchivedRecord(raw, i % 4, i // 4, 1_000 * i, b"u", (), b"{}"))
    writer.close()
    path = root / open_archive(root).partitions[f"{raw}/2"].segments[0].file
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-64])
    elif damage == "not_parquet":
        path.write_text("a,b\n1,2\n")
    else:
        pq.write_table(pq.read_table(path).replace_schema_metadata({SCHEMA_VERSION_KEY: b"9"}), path)
    with pytest.raises(ArchiveFileError, match=str(path)):
        replay(production, source=str(root), namespace="r-bad", policy="rules")
    assert not (tmp_path / "replays").exists()  # nothing claimed: no state, no topics were created


def test_the_cli_has_the_sre_commands() -> None:
    from click.testing import CliRunner

    from kairos.cli import cli

    runner = CliRunner()
    for args in (
        ["archive", "--help"],
        ["replay", "--help"],
        ["replay", "diff", "--help"],
        ["bench", "replay", "--help"],
    ):
        assert runner.invoke(cli, args, env={}).exit_code == 0, args
    missing = runner.invoke(cli, ["replay", "--source", "x"], env={})
    assert missing.exit_code == 2 and "--namespace" in missing.output
    refused = runner.invoke(cli, ["replay", "clean", "--namespace", "kairos"], env={})
    assert refused.exit_code == 1 and "namespace of its own" in refused.output
