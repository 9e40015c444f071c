"""The worker's live page: ``/live`` (HTML), ``/live/data.json`` (figures and tables), ``/live/static/…``.

Nothing is added to the stages' hot path: the page reads the process's one Prometheus registry when it is polled
(at most once a second whatever the number of open pages) and keeps the snapshots it read in a bounded
:class:`~kairos.web.snapshot.History`. With no page open, the worker does no work for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import faust
import orjson
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry

from kairos.web.assets import asset
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.snapshot import History, snapshot_of_registry
from streams.metrics import REGISTRY

__all__ = ["LiveData", "add_live_page"]

_TYPES = {".js": "application/javascript", ".css": "text/css", ".html": "text/html"}
# Plotly injects style elements and Plotly.react builds SVG; no script is loaded from anywhere but this worker.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class LiveData:
    """What ``/live/data.json`` answers: figures and tables over the snapshots read so far.

    Args:
        registry: the registry to read (the worker's :data:`streams.metrics.REGISTRY`).
        capacity: snapshots kept (thinned when full, see :class:`~kairos.web.snapshot.History`).
        min_interval_s: a poll sooner than this after the last snapshot reuses it.
        clock: seconds since the epoch (a parameter for tests).
    """

    def __init__(
        self,
        registry: CollectorRegistry = REGISTRY,
        *,
        capacity: int = 360,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._history = History(capacity)
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._data: dict[str, Any] | None = None
        self._body: bytes | None = None

    def poll(self) -> dict[str, Any]:
        """Read the registry (unless read less than ``min_interval_s`` ago) and return the page's data (built once
        per snapshot, however many pages ask)."""
        now = self._clock()
        latest = self._history.latest
        if latest is None or now - latest.at >= self._min_interval_s:
            self._history.add(snapshot_of_registry(self._registry, now))
            self._data = self._body = None
        if self._data is None:
            snaps = self._history.snapshots
            self._data = {
                "at": snaps[-1].at,
                "snapshots": len(snaps),
                "figures": [f.to_json() for f in metric_figures(snaps)],
                "tables": [t.to_json() for t in metric_tables(snaps[-1])],
            }
        return self._data

    def body(self) -> bytes:
        """:meth:`poll` as the JSON body ``/live/data.json`` sends."""
        data = self.poll()
        if self._body is None:
            self._body = orjson.dumps(data)
        return self._body


def add_live_page(app: faust.App, data: LiveData | None = None) -> LiveData:
    """Serve the live page on ``app``'s web server (next to ``/metrics``); returns the data source it polls."""
    source = data or LiveData()
    no_store = {"Cache-Control": "no-store"}

    @app.page("/live")
    class LivePage(View):
        async def get(self, request: Request, **_: Any) -> Response:
            return self.bytes(
                asset("live.html"),
                content_type="text/html",
                headers={"Content-Security-Policy": _CSP, **no_store},
            )

    @app.page("/live/data.json")
    class LivePageData(View):
        async def get(self, request: Request, **_: Any) -> Response:
            return self.bytes(source.body(), content_type="application/json", headers=no_store)

    @app.page("/live/static/{name}")
    class LivePageStatic(View):
        async def get(self, request: Request, name: str = "", **_: Any) -> Response:
            try:
                body = asset(name)
            except KeyError:
                return self.notfound(f"no static file {name!r}")
            kind = _TYPES.get(name[name.rfind(".") :], "application/octet-stream")
            return self.bytes(body, content_type=kind, headers={"Cache-Control": "max-age=3600"})

    return source
