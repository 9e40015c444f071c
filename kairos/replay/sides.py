"""The two sides of ``kairos replay diff``: what a deployment, a replay namespace or an archive holds (read only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kairos.settings import Settings
from schemas.codec import StructDecoder
from schemas.deadletter import dead_letter_from_record
from schemas.decisions import Decision
from schemas.errors import PoisonMessageError
from schemas.rewards import Reward
from streams.archive import iter_partition, open_archive
from streams.archive.manifest import MANIFEST
from streams.config import TopicsConfig
from streams.reader import read_range

__all__ = ["SideData", "load_side"]

_STEMS = {"decisions": "interventions.v1", "rewards": "rewards.v1", "dead": "deadletter.v1", "events": "events.v1"}


@dataclass
class SideData:
    """One side's decisions, rewards, dead letters by ``(stage, reason)`` and validated-event count, in log order."""

    name: str
    decisions: list[Decision] = field(default_factory=list)
    rewards: list[Reward] = field(default_factory=list)
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: int = 0
    undecodable: int = 0


def _records(settings: Settings, spec: str) -> tuple[str, dict[str, list[tuple[bytes | None, bytes, object]]]]:
    """``(name, {kind: [(key, value, headers)]})`` for a side: an archive directory or a namespace."""
    out: dict[str, list[tuple[bytes | None, bytes, object]]] = {kind: [] for kind in _STEMS}
    root = Path(spec)
    if (root / MANIFEST).is_file():
        manifest = open_archive(root)
        for topic, partitions in manifest.topics().items():
            kind = next((k for k, stem in _STEMS.items() if topic.endswith(f".{stem}")), None)
            if kind is None:
                continue
            for p in partitions:
                for r in iter_partition(root, manifest, topic, p):
                    out[kind].append((r.key, r.value or b"", [(k, v) for k, v in r.headers]))
        return f"archive {root}", out
    topics = TopicsConfig(namespace=spec, partitions=settings.topics.partitions)
    for kind, stem in _STEMS.items():
        for p in range(topics.partitions):
            for msg in read_range(settings.kafka, topics.name(stem), p, 0):
                out[kind].append((msg.key(), msg.value() or b"", msg.headers()))
    return f"namespace {spec}", out


def load_side(settings: Settings, spec: str) -> SideData:
    """Read one side: ``spec`` is an archive directory, or a namespace (production's own, or a replay's).

    Raises:
        ArchiveError: a bad archive (the file is named).
    """
    name, records = _records(settings, spec)
    side = SideData(name)
    decode_decision, decode_reward = StructDecoder(Decision).decode, StructDecoder(Reward).decode
    for _, value, _ in records["decisions"]:
        try:
            side.decisions.append(decode_decision(value))
        except PoisonMessageError:
            side.undecodable += 1
    for _, value, _ in records["rewards"]:
        try:
            side.rewards.append(decode_reward(value))
        except PoisonMessageError:
            side.undecodable += 1
    for key, value, headers in records["dead"]:
        try:
            letter = dead_letter_from_record(key, value, headers)  # type: ignore[arg-type]
        except PoisonMessageError:
            side.undecodable += 1
            continue
        side.dead_letters[(letter.stage, letter.reason)] += 1
    side.events = len(records["events"])
    return side
