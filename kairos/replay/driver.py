"""``kairos replay``: the pipeline's stages, in lockstep, on a slice of the event log, in an isolated namespace.

The stages are the worker's own handlers (ingest, features with River and decisions, product features,
attribution, and the learner when asked), fed by a driver instead of consumer groups, so that a replay is
deterministic: one round takes the next ``ceil(ingest.batch_size / partitions)`` records of every partition of the
slice, writes them to the replay's raw topic with their original timestamps, and runs every stage once over exactly
what the stage before it wrote in that round (read back from the replay's topics, in partition/topic/offset order),
flushing between stages. Catalogue records apply when the replayed stream reaches their timestamp.

Time is the event stream's: ingest checks each record against its own log timestamp (``ingest.clock =
"records"``), and every other clock of the stages (checkpoint cadence, dead-letter stamps, the popular-products
refresh) is a :class:`~kairos.replay.clock.StreamClock`. Nothing sleeps. A crashed replay is restarted from scratch
(its namespace is dropped first); a finished one must be cleaned (:func:`clean_namespace`) before its namespace is
reused.
"""

from __future__ import annotations

import itertools
import logging
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from confluent_kafka.admin import AdminClient

from agents.attribute import AttributionHandler
from agents.compute_features import FeatureHandler
from agents.compute_product_features import ProductFeatureHandler
from agents.ingest import IngestHandler
from agents.learn import LearnStage
from featurestore.coalescing import CoalescingWriter
from featurestore.hot import FeatureCache
from featurestore.store import open_store
from featurestore.writer import OnlineFeatureWriter
from kairos.replay.clock import StreamClock
from kairos.replay.errors import ReplayError
from kairos.replay.isolation import NamespacedProducer, replay_settings
from kairos.replay.policy import ReplayPolicy
from kairos.replay.source import SliceSource
from kairos.replay.tail import TopicTail
from kairos.serving import decision_stage, learn_stage
from kairos.settings import Settings
from kairos.worker import feature_store_config
from schemas.catalogue import CatalogueItem
from schemas.codec import StructDecoder
from schemas.errors import PoisonMessageError
from serving.learning import policy_weights, save_checkpoint
from streams.archive import ArchivedRecord
from streams.catalogue import CatalogueTable
from streams.clients import admin_config
from streams.topics import ensure_topics, topic_specs

__all__ = ["ReplayReport", "ReplayStatus", "clean_namespace", "run_replay"]

logger = logging.getLogger(__name__)

STATUS_FILE = "replay.json"
_NEVER = math.inf  # checkpoint cadence: a replay restarts from scratch, it never resumes from a checkpoint


class ReplayStatus(msgspec.Struct):
    """``<replay data dir>/replay.json``: what the namespace holds."""

    namespace: str
    status: str  # running | done
    source: str
    policy: str
    selection: str
    learn: bool = False


@dataclass
class ReplayReport:
    """What a replay did."""

    namespace: str
    source: str
    policy: str
    rounds: int = 0
    records_in: int = 0
    written: dict[str, int] = field(default_factory=dict)
    catalogue_items: int = 0
    learner_proposals: int = 0
    learner_promoted: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time over the rounds (every thread)
    restarted: bool = False

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object."""
        return {
            "namespace": self.namespace,
            "source": self.source,
            "policy": self.policy,
            "rounds": self.rounds,
            "records_in": self.records_in,
            "written": dict(sorted(self.written.items())),
            "catalogue_items": self.catalogue_items,
            "learner": {"proposals": self.learner_proposals, "promoted": self.learner_promoted},
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "events_per_s": round(self.records_in / self.wall_s, 1) if self.wall_s > 0 else 0.0,
            "restarted": self.restarted,
        }


def _namespace_topics(settings: Settings) -> list[str]:
    prefix = f"{settings.topics.namespace}."
    metadata = AdminClient(admin_config(settings.kafka)).list_topics(timeout=10)
    return sorted(t for t in metadata.topics if t.startswith(prefix))


def clean_namespace(production: Settings, namespace: str) -> dict[str, Any]:
    """Delete a replay's topics and worker state (never production's: the namespace must be another).

    Returns:
        What was removed: ``{"topics": [...], "data_dir": path or None}``.

    Raises:
        SettingsError: ``namespace`` is production's or invalid.
    """
    settings = replay_settings(production, namespace)
    topics = _namespace_topics(settings)
    if topics:
        admin = AdminClient(admin_config(settings.kafka))  # kept alive until the deletions are answered
        futures = admin.delete_topics(topics, operation_timeout=30)
        for future in futures.values():
            future.result(timeout=30)
        deadline = time.monotonic() + 30
        while _namespace_topics(settings) and time.monotonic() < deadline:
            time.sleep(0.2)  # an admin wait for the broker, not part of the replay
    data_dir = Path(settings.worker.data_dir)
    existed = data_dir.exists()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"topics": topics, "data_dir": str(data_dir) if existed else None}


def _claim_namespace(production: Settings, settings: Settings, status: ReplayStatus) -> bool:
    """Make the namespace ready; returns whether an unfinished replay was dropped first.

    Raises:
        ReplayError: the namespace holds a finished replay.
    """
    path = Path(settings.worker.data_dir) / STATUS_FILE
    restarted = False
    if path.exists():
        previous = msgspec.json.decode(path.read_bytes(), type=ReplayStatus)
        if previous.status == "done":
            raise ReplayError(
                f"namespace {settings.topics.namespace} holds a finished replay ({previous.source}, policy "
                f"{previous.policy}); run `kairos replay clean --namespace {settings.topics.namespace}` first"
            )
        restarted = True
    if restarted or _namespace_topics(settings):
        logger.warning("replay namespace=%s: dropping an unfinished replay, starting over", settings.topics.namespace)
        clean_namespace(production, settings.topics.namespace)
        restarted = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.encode(status))
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    return restarted


@dataclass
class _Stages:
    ingest: IngestHandler
    features: FeatureHandler
    products: ProductFeatureHandler
    attribution: AttributionHandler | None
    learner: LearnStage[Any] | None
    catalogue: CatalogueTable
    feast: CoalescingWriter


def _build_stages(settings: Settings, policy: ReplayPolicy, clock: StreamClock) -> _Stages:
    topics, kafka = settings.topics, settings.kafka
    checkpoints = Path(settings.worker.data_dir) / "checkpoints"
    cache, catalogue = FeatureCache(), CatalogueTable()
    feast = OnlineFeatureWriter(open_store(feature_store_config(settings)))  # the replay's own store
    writer = CoalescingWriter(feast.write, write_history=feast.write_offline)
    decide = None
    if settings.decide.enabled:
        decide = decision_stage(settings, cache, catalogue, local=policy.local(), clock=clock)
    learner = None
    if settings.learn.enabled:
        if policy.policy is not None:  # the learner starts from the replayed policy
            version = max(policy.model_version, 1)
            meta = {"updates": getattr(policy.policy, "updates", 0), "policy_name": policy.policy.name}
            save_checkpoint(Path(settings.worker.data_dir) / "policies", version, policy_weights(policy.policy), meta)
        learner = learn_stage(settings)
    attribution = None
    if settings.attribution.enabled:
        config = settings.attribution.rules()
        attribution = AttributionHandler(
            kafka, topics, checkpoints, config=config, checkpoint_every_s=_NEVER, clock=clock
        )
    return _Stages(
        ingest=IngestHandler(kafka, topics, settings.ingest, clock=clock, pseudonym_key=settings.privacy.load_key()),
        features=FeatureHandler(
            kafka, topics, cache, writer, checkpoints, decide=decide, checkpoint_every_s=_NEVER, clock=clock
        ),
        products=ProductFeatureHandler(
            kafka, topics, cache, writer, checkpoints, catalogue=catalogue, checkpoint_every_s=_NEVER, clock=clock
        ),
        attribution=attribution,
        learner=learner,
        catalogue=catalogue,
        feast=writer,
    )


def _rounds(source: SliceSource, per_partition: int) -> Iterator[list[ArchivedRecord]]:
    """The slice in rounds: the next ``per_partition`` records of every partition, partition by partition."""
    iterators = dict(sorted(source.partitions.items()))
    while iterators:
        batch: list[ArchivedRecord] = []
        for partition, records in list(iterators.items()):
            taken = list(itertools.islice(records, per_partition))
            if len(taken) < per_partition:
                del iterators[partition]
            batch.extend(taken)
        if batch:
            yield batch


def run_replay(
    production: Settings,
    namespace: str,
    source: SliceSource,
    policy: ReplayPolicy,
    *,
    selection: str = "",
    catalogue: list[ArchivedRecord] | None = None,
    learn: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Replay ``source`` into ``namespace`` with ``policy`` (see the module docstring).

    Args:
        production: the deployment's settings (only read: the replay derives its own, :func:`replay_settings`).
        namespace: the replay's namespace.
        source: the slice of the raw topic, per partition.
        policy: what decides.
        selection: the slice's description, for the status file.
        catalogue: catalogue records to apply as the stream reaches their timestamps.
        learn: also run the learner on the replay's decision contexts and rewards.
        progress: called with the number of raw records of each round.

    Raises:
        ReplayError: the namespace holds a finished replay, or the broker stalled.
        ReplayIsolationError: a stage tried to write outside the namespace (a bug).
        ArchiveFileError: a bad archive file (named); the namespace is then left marked unfinished.
    """
    settings = replay_settings(production, namespace, learn=learn)
    status = ReplayStatus(namespace, "running", source.describe, policy.label, selection, learn)
    report = ReplayReport(namespace, source.describe, policy.label)
    report.restarted = _claim_namespace(production, settings, status)
    if settings.replay.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.replay.metrics_port, addr="127.0.0.1")
    clock = StreamClock()
    stages = _build_stages(settings, policy, clock)
    started = time.perf_counter()  # after the Feast store is open (applied): as a live stage's loop is timed
    cpu_started = time.process_time()
    topics, partitions = settings.topics, settings.topics.partitions
    producer = NamespacedProducer(settings)
    tails = {
        "raw": TopicTail(settings.kafka, [topics.raw_events], partitions),
        "events": TopicTail(settings.kafka, [topics.events], partitions),
        "products": TopicTail(settings.kafka, [topics.events_by_product], partitions),
        "attribution": TopicTail(settings.kafka, [topics.interventions, topics.events], partitions),
        "learn": TopicTail(settings.kafka, [topics.decision_contexts, topics.rewards], partitions),
    }
    for p in range(partitions):
        stages.ingest.assigned(topics.raw_events, p, -1)
        stages.features.assigned(topics.events, p, -1)
        stages.products.assigned(topics.events_by_product, p, -1)
        if stages.attribution is not None:
            stages.attribution.assigned(topics.interventions, p, -1)
            stages.attribution.assigned(topics.events, p, -1)
    pending_catalogue = sorted(catalogue or [], key=lambda r: (r.timestamp_ms or 0, r.partition, r.offset))
    decode_item = StructDecoder(CatalogueItem).decode
    last_ts: int = 0

    def flush() -> None:
        remaining = producer.flush(60)
        if remaining or producer.failures:
            raise ReplayError(f"{remaining} records unacknowledged, failures: {producer.failures[:5]}")

    try:
        for batch in _rounds(source, max(1, math.ceil(settings.ingest.batch_size / partitions))):
            for record in batch:
                last_ts = record.timestamp_ms if record.timestamp_ms is not None else last_ts
                producer.produce(
                    topics.raw_events,
                    record.value,
                    record.key,
                    record.partition,
                    headers=list(record.headers) or None,
                    timestamp=last_ts,
                )
                clock.advance(last_ts)
            while pending_catalogue and (pending_catalogue[0].timestamp_ms or 0) <= clock() * 1000:
                item = pending_catalogue.pop(0)
                stamp = item.timestamp_ms or 0
                producer.produce(topics.catalogue, item.value, item.key, item.partition, timestamp=stamp)
                try:
                    stages.catalogue.apply(decode_item(item.value or b""))
                    report.catalogue_items += 1
                except PoisonMessageError:
                    logger.warning("replay skipped a catalogue record that does not decode offset=%s", item.offset)
            flush()
            _step(stages.ingest.handle, tails["raw"], producer, flush)
            _step(stages.features.handle, tails["events"], producer, flush)
            _step(stages.products.handle, tails["products"], producer, flush)
            if stages.attribution is not None:
                _step(stages.attribution.handle, tails["attribution"], producer, flush)
            if stages.learner is not None:
                _step(_learn(stages.learner), tails["learn"], producer, flush)
            report.rounds += 1
            report.records_in += len(batch)
            if progress is not None:
                progress(len(batch))
        for p in range(partitions):
            stages.features.revoked(topics.events, p)
            stages.products.revoked(topics.events_by_product, p)
        stages.feast.flush(history=True)
    finally:
        for tail in tails.values():
            tail.close()
        stages.feast.close()
    written: Counter[str] = Counter()
    for (topic, _), end in producer.ends.items():
        written[topic.removeprefix(f"{namespace}.")] += end
    report.written = dict(written)
    if stages.learner is not None:
        report.learner_proposals = len(stages.learner.proposals)
        report.learner_promoted = [p.model_version for p in stages.learner.proposals if p.promoted]
    report.wall_s = time.perf_counter() - started
    report.cpu_s = time.process_time() - cpu_started
    status.status = "done"
    (Path(settings.worker.data_dir) / STATUS_FILE).write_bytes(msgspec.json.encode(status))
    return report


def _learn(learner: LearnStage[Any]) -> Callable[[list[Any], Any], None]:
    return lambda messages, _producer: learner.learn_batch(messages)


def _step(
    handle: Callable[[list[Any], Any], None], tail: TopicTail, producer: NamespacedProducer, flush: Callable[[], None]
) -> None:
    """One stage over what the stages before it wrote this round, then every output acknowledged."""
    messages = tail.read(producer.ends)
    if messages:
        handle(messages, producer)
        flush()
