"""Soak run: a steady offered load through the whole loop for minutes; is the worker's memory and lag flat?

``kairos bench soak --minutes 10 --rate 200`` starts its own broker and a ``kairos worker`` (ingest, features,
decisions on the fallback policy, attribution and learning on), publishes the simulator's catalogue, then the
simulator's records to the raw topic at ``--rate`` records per second, paced, for ``--minutes``. Every
``--sample-s`` it reads the worker's resident memory (RSS, from ``/proc``) and the lag of ingest and of the feature
stage (end offsets minus committed offsets). The last line is one JSON object: the samples' first, last and largest
RSS, the RSS slope over the second half of the run (MB per minute, least squares: a leak shows as a steady positive
slope once caches are warm), the lags' largest, last and second-half slope, and the offered and processed rates.
Nothing is asserted: the figures are the report (docs/benchmarks.md).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import bench_broker
from kairos.processes import start_worker
from kairos.progress import track
from kairos.settings import load_settings
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.broker import free_port
from streams.clients import producer_config
from streams.reader import committed_total
from streams.topics import ensure_topics, topic_specs

__all__ = ["run", "slope_per_minute"]

_PARTITIONS = 4


def slope_per_minute(times_s: list[float], values: list[float]) -> float:
    """The least-squares slope of ``values`` over ``times_s``, per minute (0 with fewer than two samples).

    >>> round(slope_per_minute([0.0, 60.0, 120.0], [10.0, 11.0, 12.0]), 9)
    1.0
    """
    if len(times_s) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(times_s) / 60.0, np.asarray(values), 1)[0])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _lag(metrics: str, stage: str) -> float:
    """The worker's own ``kairos_consumer_lag`` of ``stage``, summed over partitions (the broker's end offsets, read
    from outside, under-report on Tansu: STACK.md)."""
    total = 0.0
    for family in text_string_to_metric_families(metrics):
        if family.name == "kairos_consumer_lag":
            total += sum(s.value for s in family.samples if s.labels.get("stage") == stage)
    return total


def _summary(times: list[float], values: list[float]) -> dict[str, float]:
    half = [i for i, t in enumerate(times) if t >= times[-1] / 2] if times else []
    return {
        "first": round(values[0], 1) if values else float("nan"),
        "last": round(values[-1], 1) if values else float("nan"),
        "max": round(max(values), 1) if values else float("nan"),
        "slope_per_min_second_half": round(slope_per_minute([times[i] for i in half], [values[i] for i in half]), 3),
    }


def run(*, minutes: float, rate: float, sample_s: float = 10.0, seed: int = 5) -> dict[str, Any]:
    """One soak run (see the module docstring)."""
    with bench_broker() as broker, tempfile.TemporaryDirectory(prefix="kairos-soak-") as tmp:
        root, namespace = Path(tmp), f"soak{uuid.uuid4().hex[:8]}"
        settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": namespace, "partitions": _PARTITIONS},
            ingest={"group_id": f"{namespace}-ingest"},
            worker={"web_port": free_port(), "data_dir": str(root / "var")},
            learn={"enabled": True},
        )
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        needed = int(rate * minutes * 60)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        shoppers = max(200, needed // 6)  # ~8-9 records per shopper-hour in the simulator
        sim = Simulation(SimulationConfig(shoppers=shoppers, duration_s=3600, seed=seed, start_time=start))
        records = [(r.key, r.value) for r in sim.advance(sim.end)][:needed]
        producer = Producer(producer_config(settings.kafka))
        for key, value in catalogue_records(sim.catalogue, start):
            producer.produce(settings.topics.catalogue, value, key)
        producer.flush(60)
        worker = start_worker(settings, root / "worker.log", ready_timeout_s=180)
        times: list[float] = []
        rss: list[float] = []
        ingest_lag: list[float] = []
        feature_lag: list[float] = []
        began = time.monotonic()
        next_sample = began
        sent = 0
        try:
            for _second in track(range(int(minutes * 60)), "bench soak: seconds of offered load", unit="s"):
                due = began + _second + 1
                batch = records[sent : sent + int(rate)]
                for key, value in batch:
                    producer.produce(settings.topics.raw_events, value, key)
                producer.poll(0)
                sent += len(batch)
                if time.monotonic() >= next_sample:
                    next_sample += sample_s
                    times.append(time.monotonic() - began)
                    rss.append(_rss_mb(worker.pid))
                    metrics = worker.metrics()
                    ingest_lag.append(_lag(metrics, "validate_events"))
                    feature_lag.append(_lag(metrics, "compute_features"))
                time.sleep(max(0.0, due - time.monotonic()))
            producer.flush(60)
            elapsed = time.monotonic() - began
            processed = committed_total(
                settings.kafka, settings.ingest.group_id, settings.topics.raw_events, _PARTITIONS
            )
        finally:
            worker.stop()
        return {
            "minutes": minutes,
            "offered_per_s": round(sent / elapsed, 1),
            "ingested_per_s": round(processed / elapsed, 1),
            "records": sent,
            "samples": len(times),
            "rss_mb": _summary(times, rss),
            "ingest_lag": _summary(times, ingest_lag),
            "feature_lag": _summary(times, feature_lag),
            "series": {"t_s": [round(t) for t in times], "rss_mb": [round(v, 1) for v in rss]},
        }
