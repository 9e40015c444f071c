"""``kairos bench page``: what the live page costs a worker — its CPU with the page closed, open, closed again — and
what one poll costs with a full history.

A real worker (own broker on a free port, no Triton: decisions come from the fallback rules) is fed by the shopper
simulator for the whole run; headless chromium keeps ``/live`` open (polling every 2 s) during the middle window.
The worker's CPU is read from /proc (psutil) over each window. The full-history
figure rebuilds the page's data in this process, after the run, from the worker's last ``/metrics`` repeated over
the history's capacity (the most the page ever draws), the way the worker's view runs it (each snapshot's groupings
computed once and kept).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.browser import chromium
from bench.stack import bench_broker
from kairos.processes import WorkerProcess, start_worker
from kairos.progress import next_step, progress
from kairos.settings import load_settings
from kairos.simulate import simulate_to_kafka
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.snapshot import History, Snapshot, snapshot_of_text
from streams.broker import free_port
from streams.topics import ensure_topics, topic_specs

__all__ = ["run"]

_CAPACITY = 360  # LiveData's default history


def _cpu_pct(process: psutil.Process, seconds: float) -> float:
    """The process's CPU (user + system, all threads) over ``seconds``, in % of one core."""
    before, began = process.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, took = process.cpu_times(), time.monotonic() - began
    return float(100.0 * ((after.user - before.user) + (after.system - before.system)) / took)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def _full_history_ms(text: str, repeats: int = 5) -> float:
    """Median ms to build and encode the page's data over a full history of snapshots like ``text``, as a poll
    does in steady state: every snapshot but the newest already worked on by earlier polls."""
    last = snapshot_of_text(text, 0.0)
    history = History(_CAPACITY)

    def build() -> None:
        snaps = history.snapshots
        orjson.dumps(
            {
                "figures": [f.to_json() for f in metric_figures(snaps)],
                "tables": [t.to_json() for t in metric_tables(snaps[-1])],
            }
        )

    for i in range(_CAPACITY):
        history.add(Snapshot(2.0 * i, last.samples, last.kinds))
    build()  # the earlier polls
    times = []
    for i in range(repeats):
        history.add(Snapshot(2.0 * (_CAPACITY + i), last.samples, last.kinds))
        began = time.perf_counter()
        build()
        times.append(1000.0 * (time.perf_counter() - began))
    return float(statistics.median(times))


def _measure(worker: WorkerProcess, seconds: float, profile: Path) -> dict[str, Any]:
    process = psutil.Process(worker.pid)
    base = worker.metrics_url.removesuffix("/metrics")
    with progress("bench page: CPU, page closed", total=3, unit="window") as bar:
        closed = _cpu_pct(process, seconds)
        next_step(bar, "bench page: CPU, page open in chromium")
        with chromium(profile) as driver:
            driver.get(f"{base}/live")
            time.sleep(3.0)
            opened = _cpu_pct(process, seconds)
        next_step(bar, "bench page: CPU, page closed again")
        closed_again = _cpu_pct(process, seconds)
        bar.update(1)
    polls = []
    for _ in range(5):
        time.sleep(1.1)  # past the page's 1 s reuse: each fetch rebuilds the data
        began = time.perf_counter()
        body = _fetch(f"{base}/live/data.json")
        polls.append(1000.0 * (time.perf_counter() - began))
    baseline = (closed + closed_again) / 2
    return {
        "cpu_closed_pct": round(closed, 2),
        "cpu_open_pct": round(opened, 2),
        "cpu_closed_again_pct": round(closed_again, 2),
        "page_cpu_pct": round(opened - baseline, 2),
        "snapshots_in_view": orjson.loads(body)["snapshots"],
        "poll_ms": round(statistics.median(polls), 1),
        "body_bytes": len(body),
    }


def run(*, seconds: float = 60.0, shoppers: int = 600, speed: float = 12.0) -> dict[str, Any]:
    """Measure (see the module docstring); the last line of ``kairos bench page``."""
    with bench_broker() as broker, tempfile.TemporaryDirectory(prefix="kairos-bench-page-") as tmp:
        settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": "benchpage", "partitions": 4},
            ingest={"group_id": "benchpage-ingest"},
            worker={"web_port": free_port(), "data_dir": str(Path(tmp) / "var")},
        )
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        worker = start_worker(settings, Path(tmp) / "worker.log")
        try:
            load = threading.Thread(
                target=simulate_to_kafka,
                args=(settings,),
                kwargs={"shoppers": shoppers, "duration_s": (3 * seconds + 60) * speed, "seed": 5, "speed": speed},
                daemon=True,
            )
            load.start()
            time.sleep(15.0)  # shoppers arriving, stages warm
            out = _measure(worker, seconds, Path(tmp) / "chromium")
            out["load_running_throughout"] = load.is_alive()
            metrics = worker.metrics()
        finally:
            worker.stop()
    # Timed once the worker and the broker are down, so the simulator's thread no longer shares this process's GIL.
    out["full_history_poll_ms"] = round(_full_history_ms(metrics), 1)
    # The full-history figure as a share of one core at the page's 2 s poll, for one or many open pages alike.
    out["full_history_core_pct"] = round(100.0 * out["full_history_poll_ms"] / 2000.0, 2)
    out.update({"window_s": seconds, "shoppers": shoppers, "speed": speed})
    return out
