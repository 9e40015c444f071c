"""``kairos bench decide``: trigger produced -> intervention consumed, at a steady offered load, policy on Triton.

The whole embedded stack runs as it does in production shape: Tansu, the Triton server (own environment, our model
repository) and a ``kairos worker`` process (ingest -> features + decisions), all on this machine. A warm-up
simulation gives the worker users, sessions and product rows (so candidates are real: popularity and co-purchase
neighbours fill the 25 slots). Then product views of known shoppers are offered at ``rate`` per second; each
one's latency runs from its due time (the producer's schedule, so a slow producer cannot hide latency) to the
moment its decision is read back from the interventions topic.

In the same run, after the worker stops, the same load goes through two pass-through stages on the same broker
(:mod:`bench.hop_floor`): ``floor_p50_ms`` / ``floor_p99_ms`` are what the three consumer hops cost with no work,
so ``p99_ms - floor_p99_ms`` is roughly Kairos' own share.

Anchors (published figures; neither product runs here): Azure Personalizer's local inference "sub-10 ms", and
Metarank's p99 ~6 ms at 25 candidates. The goal is p99 <= 10 ms with 25 candidates.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench.hop_floor import hop_floor
from bench.loadgen import AnswerWatcher, offer_load, percentile
from bench.stack import bench_broker
from kairos.processes import start_worker
from kairos.progress import progress, track
from kairos.serving import policy_parts, prepare_repository, triton_config
from kairos.settings import Settings, load_settings
from schemas.codec import encode
from schemas.events import ProductView
from schemas.fields import CURRENT_SCHEMA_VERSION
from serving.inference import PolicyClient, start_triton
from simulator import Simulation, SimulationConfig
from simulator.wire import catalogue_records
from streams.clients import producer_config
from streams.reader import committed_total
from streams.topics import ensure_topics, topic_specs

__all__ = ["run"]

METARANK_P99_MS = 6.0
PERSONALIZER_MS = 10.0


def _answer(value: bytes) -> tuple[str, str] | None:
    decision = orjson.loads(value)
    return str(decision["trigger_event_id"]), f"{decision['policy_source']}|{len(decision.get('candidates', []))}"


def _warm_up(settings: Settings, shoppers: int, log: Callable[[str], None]) -> tuple[list[str], list[str]]:
    """Publish the catalogue and an hour of simulated shopping; wait until the feature stage applied it."""
    from confluent_kafka import Producer

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1, minutes=5)
    sim = Simulation(SimulationConfig(shoppers=shoppers, duration_s=3600, seed=3, start_time=start))
    producer = Producer(producer_config(settings.kafka))
    for key, value in catalogue_records(sim.catalogue, start):
        producer.produce(settings.topics.catalogue, value, key)
    records = [r for r in sim.advance(sim.end) if r.kind == "valid"]
    for record in records:
        producer.produce(settings.topics.raw_events, record.value, record.key)
        producer.poll(0)
    producer.flush(60)
    topics = settings.topics
    group = f"{topics.namespace}-features"
    deadline = time.monotonic() + 300
    with progress("warm-up: events applied by the worker", total=len(records), unit="ev") as bar:
        while (done := committed_total(settings.kafka, group, topics.events, topics.partitions)) < len(records):
            bar.update(done - bar.n)
            if time.monotonic() > deadline:
                raise RuntimeError("warm-up: the feature stage did not catch up in 300 s")
            time.sleep(1.0)
    log(f"warm-up: {len(records)} events applied")
    users = sorted({r.key.decode() for r in records})
    products = [p.product_id for p in sim.catalogue.products if p.in_stock]
    return users, products


def _triggers(users: list[str], products: list[str], n: int, seed: int) -> Iterator[tuple[str, bytes, bytes]]:
    rng = random.Random(seed)
    for _ in range(n):
        user = rng.choice(users)
        event = ProductView(
            event_id=f"bench-{uuid.UUID(int=rng.getrandbits(128)).hex}",
            event_time=datetime.now(UTC),
            schema_version=CURRENT_SCHEMA_VERSION,
            session_id=f"bench-{user}",
            user_id=user if not user.startswith("a-") else None,
            anonymous_id=user if user.startswith("a-") else None,
            product_id=rng.choice(products),
        )
        yield event.event_id, user.encode(), encode(event)


def _triton_call_ms(url: str, settings: Settings, samples: int = 300) -> tuple[float, float]:
    """p50/p99 of one bs=1 scoring call from this process, for the latency breakdown."""
    parts = policy_parts(settings)
    rng = np.random.default_rng(0)
    state = rng.normal(size=(1, parts.encoder.state_dim)).astype(np.float32)
    cands = rng.normal(size=(1, settings.decide.pad_to, parts.encoder.action_dim)).astype(np.float32)
    mask = np.ones((1, settings.decide.pad_to), dtype=np.bool_)
    client = PolicyClient(url, timeout_s=1.0)
    try:
        lat = []
        for _ in range(samples):
            t0 = time.perf_counter()
            client.score_sync(state, cands, mask)
            lat.append((time.perf_counter() - t0) * 1000)
    finally:
        client.close()
    return percentile(lat, 0.5), percentile(lat, 0.99)


def run(
    *,
    rate: float = 1000.0,
    seconds: float = 20.0,
    shoppers: int = 400,
    partitions: int = 4,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Run the benchmark; returns the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="kairos-bench-decide-") as tmp, bench_broker() as broker:
        run_dir = Path(tmp)
        settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": "bench", "partitions": partitions},
            worker={"data_dir": str(run_dir / "var"), "web_port": 0},
            serving={"repository": str(run_dir / "triton"), "load_lm": False},
        )
        from streams.broker import free_port

        settings = replace(settings, worker=replace(settings.worker, web_port=free_port()))
        prepare_repository(settings)
        triton = start_triton(triton_config(settings, free_ports=True), run_dir / "triton.log")
        worker = None
        try:
            settings = replace(settings, serving=replace(settings.serving, triton_url=triton.grpc_url))
            ensure_topics(settings.kafka, topic_specs(settings.topics))
            worker = start_worker(settings, run_dir / "worker.log")
            users, products = _warm_up(settings, shoppers, log)
            n = int(rate * seconds)
            watcher = AnswerWatcher(settings.kafka, settings.topics.interventions, partitions, _answer)
            try:
                triggers = track(_triggers(users, products, n, seed=9), f"triggers at {rate:g}/s", total=n, unit="ev")
                sent = offer_load(settings.kafka, settings.topics.raw_events, triggers, rate=rate)
                watcher.wait_for(sent.due, timeout_s=30)
            finally:
                watcher.close()
            call_p50, call_p99 = _triton_call_ms(triton.grpc_url, settings)
        finally:
            if worker is not None:
                worker.stop()
            triton.stop()
        floor_triggers = track(_triggers(users, products, n, seed=10), "the broker's floor", total=n, unit="ev")
        floor_sent, floor = hop_floor(settings, floor_triggers, rate)
    floor_lat = [(floor.arrived[k] - floor_sent.due[k]) * 1000 for k in floor_sent.due if k in floor.arrived]
    answered = [k for k in sent.due if k in watcher.arrived]
    latencies = [(watcher.arrived[k] - sent.due[k]) * 1000 for k in answered]
    sources = Counter(watcher.extra[k].split("|")[0] for k in answered)
    candidates = [int(watcher.extra[k].split("|")[1]) for k in answered]
    last = max((watcher.arrived[k] for k in answered), default=sent.finished)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return {
        "benchmark": "decide",
        "offered_per_s": rate,
        "sent": len(sent.due),
        "answered": len(answered),
        "decisions_per_s": round(len(answered) / max(1e-9, last - sent.started), 1),
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies, default=0.0), 2),
        "fallback_rate": round(sources.get("fallback", 0) / max(1, len(answered)), 4),
        "candidates_mean": round(sum(candidates) / max(1, len(candidates)), 1),
        "producer_behind_max_ms": round(sent.behind_max_s * 1000, 2),
        "floor_p50_ms": round(percentile(floor_lat, 0.5), 2),
        "floor_p99_ms": round(percentile(floor_lat, 0.99), 2),
        "floor_answered": len(floor_lat),
        "triton_call_p50_ms": round(call_p50, 2),
        "triton_call_p99_ms": round(call_p99, 2),
        "anchor_metarank_p99_ms": METARANK_P99_MS,
        "ratio_p99_to_metarank": round(p99 / METARANK_P99_MS, 2),
        "anchor_personalizer_ms": PERSONALIZER_MS,
        "goal_p99_ms": 10.0,
    }
