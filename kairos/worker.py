"""``kairos worker``: the faust application with every stage of the loop that exists so far."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import faust
import torch
from mode import Service

from agents.attribute import AttributionHandler
from agents.compute_features import FeatureHandler
from agents.compute_product_features import ProductFeatureHandler
from agents.follow_catalogue import CatalogueStage
from agents.ingest import IngestHandler
from agents.learn import ReleaseBoard, ReleaseFollower
from agents.runner import BatchLoopService, StageLoop
from featurestore.coalescing import CoalescingWriter
from featurestore.config import FeatureStoreConfig
from featurestore.hot import FeatureCache
from featurestore.store import open_store
from featurestore.writer import OnlineFeatureWriter
from kairos.serving import concierge_agent, decision_stage, learn_stage, text_classifier
from kairos.settings import Settings
from kairos.web.live import add_live_page
from schemas.decisions import Decision
from streams.app import create_app
from streams.batch_loop import BatchHandler, BatchLoop
from streams.catalogue import CatalogueTable
from streams.health import HEALTH, StageState, StageStatus
from streams.metrics import FEATURE_ROWS_WRITTEN, FEATURE_WRITE_FAILURES, FEATURE_WRITE_SECONDS, INGEST_BATCH_SECONDS

__all__ = [
    "attribution_loop",
    "build_app",
    "feature_loop",
    "feature_store_config",
    "ingest_loop",
    "product_feature_loop",
    "run_worker",
]

logger = logging.getLogger(__name__)


def _stage_loop(
    settings: Settings,
    stage: str,
    group_id: str,
    topic: str,
    handler: BatchHandler,
    *,
    on_batch: Callable[[int, float], None] | None = None,
    on_close: Callable[[], None] | None = None,
) -> BatchLoop:
    """A stage's batch loop with the worker's batch size and poll timeout."""
    return BatchLoop(
        settings.kafka,
        group_id,
        [topic],
        handler,
        batch_size=settings.ingest.batch_size,
        poll_timeout_s=settings.ingest.poll_timeout_s,
        on_batch=on_batch,
        stage=stage,
        on_close=on_close,
    )


def ingest_loop(settings: Settings) -> BatchLoop:
    """The ingest stage's batch loop, as the worker runs it."""
    secret = settings.privacy.load_key()
    if secret is None:
        logger.warning("privacy.pseudonymise is off: shopper ids go downstream as published (docs/privacy.md)")
    handler = IngestHandler(settings.kafka, settings.topics, settings.ingest, pseudonym_key=secret)
    return _stage_loop(
        settings,
        "validate_events",
        settings.ingest.group_id,
        settings.topics.raw_events,
        handler,
        on_batch=lambda _n, seconds: INGEST_BATCH_SECONDS.observe(seconds),
    )


def feature_store_config(settings: Settings) -> FeatureStoreConfig:
    """Where the worker's Feast repository lives and which online store it uses."""
    return FeatureStoreConfig(
        data_dir=str(Path(settings.worker.data_dir) / "feast"), online_store=settings.online.store
    )


def _observe_write(view: str, rows: int, seconds: float) -> None:
    FEATURE_ROWS_WRITTEN.labels(view).inc(rows)
    FEATURE_WRITE_SECONDS.labels(view).observe(seconds)


_FEAST_LOCK = threading.Lock()
_FEAST_WRITERS: dict[str, CoalescingWriter] = {}


def _feast_writer(settings: Settings) -> CoalescingWriter:
    """The worker's one coalescing writer on its Feast store, shared by every stage.

    Opened (and applied if needed) once, under a lock: two stages applying the same registry at the same time
    corrupt it, and one writer thread keeps the online store's writes serial.
    """
    config = feature_store_config(settings)
    with _FEAST_LOCK:
        writer = _FEAST_WRITERS.get(config.data_dir)
        if writer is None:
            feast = OnlineFeatureWriter(open_store(config))
            writer = _FEAST_WRITERS[config.data_dir] = CoalescingWriter(
                feast.write,
                on_written=_observe_write,
                write_history=feast.write_offline,
                erase=feast.erase,
                on_failed=lambda view, _rows: FEATURE_WRITE_FAILURES.labels(view).inc(),
            )
            HEALTH.register("feature_store", lambda: _store_status(writer))
        return writer


def _store_status(writer: CoalescingWriter) -> StageStatus:
    """The online store as ``/healthz`` and ``/readyz`` show it: alive while the writer runs (decisions read the hot
    copy, not Feast); not ready while the store is down (rows wait, Feast lags)."""
    if writer.available:
        return StageStatus("feature_store", StageState.RUNNING, ready=True)
    reason = f"online store unavailable: {writer.failures} failed writes, {writer.pending} rows pending"
    return StageStatus("feature_store", StageState.RUNNING, ready=False, reason=reason)


def feature_loop(
    settings: Settings,
    cache: FeatureCache,
    catalogue: CatalogueTable | None = None,
    on_concierge: Callable[[Decision, str], None] | None = None,
    releases: ReleaseBoard | None = None,
) -> BatchLoop:
    """The feature stage's batch loop, deciding on trigger events when ``decide.enabled`` (adopting the policy
    versions announced on ``releases``)."""
    writer = _feast_writer(settings)
    table = catalogue or CatalogueTable()
    decide = decision_stage(settings, cache, table, on_concierge, releases) if settings.decide.enabled else None
    handler = FeatureHandler(
        settings.kafka,
        settings.topics,
        cache,
        writer,
        _checkpoint_dir(settings),
        decide=decide,
        text_classifier=text_classifier(settings),
    )
    group = f"{settings.topics.namespace}-features"
    return _stage_loop(
        settings,
        "compute_features",
        group,
        settings.topics.events,
        handler,
        on_close=lambda: writer.flush(history=True),
    )


def product_feature_loop(settings: Settings, cache: FeatureCache, catalogue: CatalogueTable) -> BatchLoop:
    """The product stage's batch loop (sharing the worker's Feast writer; stock from ``catalogue``)."""
    writer = _feast_writer(settings)
    handler = ProductFeatureHandler(
        settings.kafka, settings.topics, cache, writer, _checkpoint_dir(settings), catalogue=catalogue
    )
    group, topic = f"{settings.topics.namespace}-product-features", settings.topics.events_by_product
    return _stage_loop(
        settings, "compute_product_features", group, topic, handler, on_close=lambda: writer.flush(history=True)
    )


def attribution_loop(settings: Settings) -> BatchLoop:
    """The attribution stage's batch loop: interventions and events in one group, rewards out."""
    config = settings.attribution
    handler = AttributionHandler(
        settings.kafka,
        settings.topics,
        _checkpoint_dir(settings),
        config=config.rules(),
        checkpoint_every_s=config.checkpoint_every_s,
    )
    return BatchLoop(
        settings.kafka,
        config.group(settings.topics),
        [settings.topics.interventions, settings.topics.events],
        handler,
        batch_size=settings.ingest.batch_size,
        poll_timeout_s=settings.ingest.poll_timeout_s,
        stage="attribute",
    )


def _checkpoint_dir(settings: Settings) -> Path:
    return Path(settings.worker.data_dir) / "checkpoints"


def build_app(settings: Settings) -> faust.App:
    """The worker's faust app with its stages attached."""
    Path(settings.worker.data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(
        settings.kafka,
        app_id=f"{settings.topics.namespace}-worker",
        web_host=settings.worker.web_host,
        web_port=settings.worker.web_port,
        data_dir=Path(settings.worker.data_dir),
    )
    add_live_page(app)  # /live next to /metrics (kairos/web/live.py)

    @app.service
    class ValidateEvents(BatchLoopService):
        stage = "validate_events"

        def make_loop(self) -> BatchLoop:
            return ingest_loop(settings)

    cache = FeatureCache()  # the hot copy the decision step reads
    catalogue = CatalogueTable()  # the global catalogue table: stock and product texts

    @app.service
    class FollowCatalogue(BatchLoopService):
        stage = "follow_catalogue"

        def make_loop(self) -> CatalogueStage:
            return CatalogueStage(settings.kafka, settings.topics, catalogue)

    concierge = concierge_agent(settings, catalogue)

    @app.service
    class AnswerConcierge(Service):
        """The concierge agent on the worker's event loop (language-model turns never block a stage)."""

        async def on_start(self) -> None:
            self.add_future(concierge.run(lambda: self.should_stop))

        async def on_stop(self) -> None:
            concierge.flush()

    releases = ReleaseBoard()  # promoted policy versions, adopted by the decision step

    @app.service
    class FollowPolicyReleases(BatchLoopService):
        stage = "follow_policy_releases"

        def make_loop(self) -> ReleaseFollower:
            topic, poll_s = settings.topics.policy_releases, settings.learn.release_poll_s
            return ReleaseFollower(settings.kafka, topic, releases, poll_timeout_s=poll_s)

    @app.service
    class ComputeFeatures(BatchLoopService):
        stage = "compute_features"

        def make_loop(self) -> BatchLoop:
            return feature_loop(settings, cache, catalogue, concierge.submit, releases)

    if settings.learn.enabled:

        @app.service
        class Learn(BatchLoopService):
            """The learner: one per deployment (``learn.enabled`` on one worker)."""

            stage = "learn"

            def make_loop(self) -> StageLoop:
                return learn_stage(settings)

    @app.service
    class ComputeProductFeatures(BatchLoopService):
        stage = "compute_product_features"

        def make_loop(self) -> BatchLoop:
            return product_feature_loop(settings, cache, catalogue)

    if settings.attribution.enabled:

        @app.service
        class AttributeRewards(BatchLoopService):
            """Delayed-reward attribution: decisions and outcomes in, rewards out (``docs/attribution.md``)."""

            stage = "attribute"

            def make_loop(self) -> BatchLoop:
                return attribution_loop(settings)

    return app


def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; stages commit and leave their groups on the way out."""
    settings.privacy.load_key()  # pseudonymisation on without a usable key: refuse to start (docs/privacy.md)
    torch.set_num_threads(settings.worker.torch_threads)
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.worker.log_level, quiet=True)
    worker.execute_from_commandline()
