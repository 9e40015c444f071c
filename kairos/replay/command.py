"""``kairos replay`` from its arguments: the source (an archive or Kafka), the slice, the policy, the catalogue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kairos.replay.driver import ReplayReport, run_replay
from kairos.replay.policy import resolve_policy
from kairos.replay.source import SliceSource, archive_source, kafka_source, parse_range
from kairos.settings import Settings
from streams.archive import ArchivedRecord, RecordRange, iter_partition, open_archive
from streams.reader import read_range

__all__ = ["replay"]


def _catalogue(production: Settings, source: str) -> list[ArchivedRecord]:
    """Every catalogue record of the source (applied by the replay as the stream reaches each one's timestamp)."""
    topic, partitions = production.topics.catalogue, production.topics.partitions
    if source != "kafka":
        root = Path(source)
        manifest = open_archive(root)
        return [r for p in manifest.topics().get(topic, []) for r in iter_partition(root, manifest, topic, p)]
    out = []
    for p in range(partitions):
        for msg in read_range(production.kafka, topic, p, 0):
            ts_type, ts = msg.timestamp()
            out.append(ArchivedRecord(topic, p, msg.offset() or 0, ts if ts_type else None, msg.key(), (), msg.value()))
    return out


def _source(production: Settings, source: str, selection: RecordRange) -> SliceSource:
    topic, partitions = production.topics.raw_events, production.topics.partitions
    if source == "kafka":
        return kafka_source(production.kafka, topic, partitions, selection)
    return archive_source(Path(source), topic, partitions, selection)


def replay(
    production: Settings,
    *,
    source: str,
    namespace: str,
    policy: str = "1",
    start: str | None = None,
    until: str | None = None,
    learn: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Replay production's raw events from ``source`` (an archive directory or ``kafka``) into ``namespace``.

    Args:
        production: the deployment's settings (its raw and catalogue topics are the ones read).
        source: an archive directory, or ``kafka`` to read the live raw topic (read only).
        namespace: the replay's own namespace.
        policy: ``rules``, a served ``model_version``, or a weights file / checkpoint folder.
        start: ``--from``: an offset (every partition) or an ISO-8601 time (record timestamps).
        until: ``--until``, exclusive, the same way.
        learn: also run the learner.
        progress: called with each round's record count.

    Raises:
        SettingsError: a bad bound, namespace or policy.
        ArchiveError: a bad archive (the file is named).
        ReplayError: the namespace holds a finished replay, or the broker stalled.
    """
    selection = parse_range(start, until)
    chosen = resolve_policy(policy, production)
    slice_source = _source(production, source, selection)  # an archive's files are all checked here
    catalogue = _catalogue(production, source)
    described = f"from={start or '-'} until={until or '-'}"
    return run_replay(
        production,
        namespace,
        slice_source,
        chosen,
        selection=described,
        catalogue=catalogue,
        learn=learn,
        progress=progress,
    )
