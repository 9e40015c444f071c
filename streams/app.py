"""The faust application: one per worker process, hosting every stage and serving ``/metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.web import Request, Response, View

from streams.config import KafkaConfig
from streams.metrics import render

__all__ = ["create_app"]


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
            return self.json({"status": "ok"})

    return app
