"""The faust application: one per worker process, hosting every stage and serving ``/metrics``, ``/healthz`` (each
stage alive; 503 naming a crashed stage and why) and ``/readyz`` (broker reachable, every stage started and
assigned)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from faust.web import Request, Response, View

from streams.clients import admin_config
from streams.config import KafkaConfig
from streams.health import HEALTH
from streams.metrics import render

__all__ = ["broker_error", "create_app"]

_BROKER_TIMEOUT_S = 2.0


def broker_error(admin: AdminClient, timeout_s: float = _BROKER_TIMEOUT_S) -> str | None:
    """``None`` when the broker answers a metadata request within ``timeout_s``, else why not (blocking)."""
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        return f"broker unreachable: {exc.args[0]}"
    return None if metadata.brokers else "broker metadata lists no brokers"


def create_app(
    kafka: KafkaConfig,
    *,
    app_id: str = "kairos",
    web_host: str = "127.0.0.1",
    web_port: int = 6066,
    data_dir: Path = Path("var"),
) -> faust.App:
    """A faust app tuned for the Tansu broker (STACK.md): short session timeouts, sensors off, uvloop-friendly."""
    app = faust.App(
        app_id,
        broker=f"kafka://{kafka.bootstrap}",
        datadir=str(data_dir / "faust"),
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=kafka.heartbeat_interval_ms / 1000,
        broker_max_poll_records=5000,
        stream_buffer_maxsize=32768,
        producer_linger=kafka.linger_ms / 1000,
        producer_compression_type=None,
        topic_partitions=4,
        web_enabled=True,
        web_bind=web_host,
        web_port=web_port,
        web_host=web_host,
        web_in_thread=False,
        autodiscover=False,
    )

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request, **_: Any) -> Response:
            return self.bytes(render(), content_type="text/plain")

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request, **_: Any) -> Response:
            alive, body = HEALTH.liveness()
            return self.json(body, status=200 if alive else 503)

    admin: list[AdminClient] = []  # made on the first probe, not at import

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: Request, **_: Any) -> Response:
            if not admin:
                admin.append(AdminClient(admin_config(kafka)))
            error = await asyncio.get_running_loop().run_in_executor(None, broker_error, admin[0])
            ready, body = HEALTH.readiness(error)
            return self.json(body, status=200 if ready else 503)

    return app
