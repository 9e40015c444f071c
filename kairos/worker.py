"""``kairos worker``: the faust application with every stage of the loop that exists so far."""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from agents.ingest import IngestHandler
from agents.runner import BatchLoopService
from kairos.settings import Settings
from streams.app import create_app
from streams.batch_loop import BatchLoop
from streams.metrics import INGEST_BATCH_SECONDS

__all__ = ["build_app", "ingest_loop", "run_worker"]

logger = logging.getLogger(__name__)


def ingest_loop(settings: Settings) -> BatchLoop:
    """The ingest stage's batch loop, as the worker runs it."""
    handler = IngestHandler(settings.kafka, settings.topics, settings.ingest)
    return BatchLoop(
        settings.kafka,
        settings.ingest.group_id,
        [settings.topics.raw_events],
        handler,
        batch_size=settings.ingest.batch_size,
        poll_timeout_s=settings.ingest.poll_timeout_s,
        on_batch=lambda _n, seconds: INGEST_BATCH_SECONDS.observe(seconds),
        stage="validate_events",
    )


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

    @app.service
    class ValidateEvents(BatchLoopService):
        stage = "validate_events"

        def make_loop(self) -> BatchLoop:
            return ingest_loop(settings)

    return app


def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; stages commit and leave their groups on the way out."""
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.worker.log_level, quiet=True)
    worker.execute_from_commandline()
