"""``kairos bench replay``: a simulator log archived, replayed twice, and the live pipeline on the same events.

One fresh broker. The seeded simulator's log (``events`` records ending now, each stamped with the time it was sent,
as a platform's producer stamps its create time; its catalogue first) is produced to a deployment's raw topic and
archived (timed). It is replayed twice from the archive into two namespaces (timed from the first round to the last
flush; the replays' Feast store set-up is excluded, as the live stages' is), and the two replays' interventions and
rewards are compared byte for byte, partition by partition. Between the two replays (so that a load drifting over
the run on a shared machine weighs on both sides), the live pipeline — the worker's own batch loops (ingest,
features and decisions, product features, attribution, the catalogue follower) on their consumer groups — consumes
the same backlog; its time runs from the loops' start until every stage has committed the end of its inputs
(polled; a stage's inputs are final once the stages before it are done, their sizes read from fetch high
watermarks). CPU seconds of this process are measured over the same spans (``cpu_ratio``: live / replay; less
sensitive to other load than wall time). Both decide with the same policy (``--policy``; ``rules`` by default: the
live pipeline here has no Triton and decides with its fallback rules, so the replay decides the same way; a version
number makes the replay score the neural policy locally, which the live run cannot match without Triton). The live
run's decisions are compared with the first replay's (``kairos replay diff``).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import Consumer, Producer, TopicPartition

from agents.follow_catalogue import CatalogueStage
from bench.stack import bench_broker
from featurestore.hot import FeatureCache
from kairos.progress import next_step, progress
from kairos.replay.command import replay
from kairos.replay.compare import compare
from kairos.replay.isolation import replay_settings
from kairos.replay.sides import load_side
from kairos.settings import Settings, load_settings
from kairos.worker import attribution_loop, feature_loop, ingest_loop, product_feature_loop
from simulator import Simulation, SimulationConfig, default_start_time
from simulator.wire import catalogue_records
from streams.archive import archive_topics
from streams.catalogue import CatalogueTable
from streams.clients import consumer_config, producer_config
from streams.reader import committed_total, read_range
from streams.topics import ensure_topics, topic_specs

__all__ = ["run"]

_DURATION_S = 6 * 3600.0


class _Loop(Protocol):
    def run(self, stop: threading.Event) -> None: ...


def _publish(settings: Settings, events: int, seed: int) -> int:
    """Produce a simulated log of at least ``events`` records (ending now) and its catalogue; returns the count."""
    shoppers = max(200, events // 8)  # ~9 records per shopper in 6 simulated hours: enough, cut at ``events``
    producer = Producer(producer_config(settings.kafka))
    start = default_start_time(datetime.now(UTC), _DURATION_S)
    sim = Simulation(SimulationConfig(shoppers=shoppers, duration_s=_DURATION_S, seed=seed, malformed_rate=0.01), start)
    stamp = int(start.timestamp() * 1000)
    for key, value in catalogue_records(sim.catalogue, start):
        producer.produce(settings.topics.catalogue, value, key, timestamp=stamp)
    n = 0
    step = _DURATION_S / 200
    with progress("bench replay: publishing the simulated log", total=events, unit="ev") as bar:
        while n < events and sim.now < sim.end:
            for record in sim.advance(min(sim.now + step, sim.end)):
                sent = int((start + timedelta(seconds=record.sim_time)).timestamp() * 1000)  # create time: when sent
                producer.produce(settings.topics.raw_events, record.value, record.key, timestamp=sent)
                n += 1
                if n % 10_000 == 0:
                    producer.poll(0)
                    bar.update(10_000)
                if n >= events:
                    break
    if producer.flush(120):
        raise RuntimeError("the simulated log was not fully acknowledged")
    return n


def _bytes(settings: Settings, stem: str) -> list[list[bytes]]:
    topic = settings.topics.name(stem)
    return [
        [m.value() or b"" for m in read_range(settings.kafka, topic, p, 0)] for p in range(settings.topics.partitions)
    ]


def _size(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds: the fetch high watermarks (right on Tansu, unlike ListOffsets)."""
    partitions = settings.topics.partitions
    consumer = Consumer(consumer_config(settings.kafka, None, **{"enable.partition.eof": True}))
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        answered: set[int] = set()
        deadline = time.monotonic() + 30
        while len(answered) < partitions and time.monotonic() < deadline:
            answered.update(m.partition() or 0 for m in consumer.consume(100, 0.2))
        ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)[1] for p in range(partitions)]
        return sum(max(end, 0) for end in ends)
    finally:
        consumer.close()


def _live(settings: Settings, events: int, log: Callable[[str], None]) -> tuple[float, float, dict[str, int]]:
    """The worker's stage loops on the backlog; returns (seconds until every stage committed the end of its inputs,
    this process's CPU seconds meanwhile, committed records per stage). A stage's inputs are final once the stages
    before it are done."""
    topics, partitions = settings.topics, settings.topics.partitions
    cache, catalogue = FeatureCache(), CatalogueTable()
    loops: list[_Loop] = [
        CatalogueStage(settings.kafka, topics, catalogue),
        ingest_loop(settings),
        feature_loop(settings, cache, catalogue),
        product_feature_loop(settings, cache, catalogue),
        attribution_loop(settings),
    ]
    attribution = settings.attribution.group(topics)
    steps: list[list[tuple[str, str, Callable[[], int]]]] = [  # (group, topic, its final size)
        [(settings.ingest.group_id, topics.raw_events, lambda: events)],
        [(f"{topics.namespace}-features", topics.events, lambda: _size(settings, topics.events))],
        [
            (
                f"{topics.namespace}-product-features",
                topics.events_by_product,
                lambda: _size(settings, topics.events_by_product),
            ),
            (attribution, topics.interventions, lambda: _size(settings, topics.interventions)),
            (attribution, topics.events, lambda: _size(settings, topics.events)),
        ],
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    started, cpu_started = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    committed: dict[str, int] = {}
    for step in steps:
        targets = [(f"{t.removeprefix(topics.namespace + '.')}@{g}", g, t, size()) for g, t, size in step]
        while True:
            for name, group, topic, _ in targets:
                committed[name] = committed_total(settings.kafka, group, topic, partitions)
            if all(committed[name] >= n for name, _, _, n in targets):
                break
            if not all(t.is_alive() for t in threads[1:]):
                raise RuntimeError("a live stage died")
            time.sleep(0.2)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stop.set()
    for thread in threads:
        thread.join(60)
    log(f"live: committed {committed}")
    return elapsed, cpu, committed


def run(
    *,
    events: int = 1_000_000,
    partitions: int = 4,
    policy: str = "rules",
    seed: int = 5,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Archive, replay twice, run live; returns the figures (``ratio`` = replay / live events per second)."""
    with bench_broker() as broker, tempfile.TemporaryDirectory(prefix="kairos-bench-replay-") as tmp:
        settings = load_settings(
            {},
            kafka={"bootstrap": broker.bootstrap},
            topics={"namespace": "bench", "partitions": partitions},
            ingest={"group_id": "bench-ingest"},
            worker={"data_dir": str(Path(tmp) / "live"), "web_port": 0},
            replay={"data_dir": str(Path(tmp) / "replays")},
        )
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        t0 = time.perf_counter()
        n = _publish(settings, events, seed)
        log(f"published {n} simulated events in {time.perf_counter() - t0:.1f} s")
        root = Path(tmp) / "archive"
        t0 = time.perf_counter()
        archived = archive_topics(settings.kafka, root, [settings.topics.raw_events, settings.topics.catalogue])
        archive_s = time.perf_counter() - t0
        log(f"archived {archived.records} in {archive_s:.1f} s")
        with progress("bench replay: replay-1", total=3, unit="pass") as bar:
            reports = [replay(settings, source=str(root), namespace="replay-1", policy=policy)]
            log(f"replay-1: {reports[0].to_json()}")
            next_step(bar, "bench replay: live stages on the backlog")
            live_s, live_cpu_s, committed = _live(settings, n, log)
            next_step(bar, "bench replay: replay-2")
            reports.append(replay(settings, source=str(root), namespace="replay-2", policy=policy))
            log(f"replay-2: {reports[1].to_json()}")
            next_step(bar, "bench replay: passes")
        first, second = (replay_settings(settings, r.namespace) for r in reports)
        identical = all(_bytes(first, stem) == _bytes(second, stem) for stem in ("interventions.v1", "rewards.v1"))
        versus = compare(load_side(settings, settings.topics.namespace), load_side(settings, "replay-1")).to_json()
        log(f"live vs replay-1: counts {versus['counts']} decisions {versus['decisions']}")
    replay_s = sum(r.wall_s for r in reports) / len(reports)
    replay_cpu_s = sum(r.cpu_s for r in reports) / len(reports)
    replay_eps, live_eps = n / replay_s, n / live_s
    return {
        "benchmark": "replay",
        "events": n,
        "partitions": partitions,
        "policy": policy,
        "archive_events_per_s": round(n / archive_s, 1),
        "replay_s": [round(r.wall_s, 2) for r in reports],
        "replay_cpu_s": [round(r.cpu_s, 2) for r in reports],
        "replay_written": reports[0].written,
        "live_s": round(live_s, 2),
        "live_cpu_s": round(live_cpu_s, 2),
        "live_committed": committed,
        "live_vs_replay_changed_decisions": versus["decisions"]["changed"],
        "cpu_ratio": round(live_cpu_s / replay_cpu_s, 3),  # > 1: the replay needs less CPU per event
        "replay_events_per_s": round(replay_eps, 1),
        "live_events_per_s": round(live_eps, 1),
        "ratio": round(replay_eps / live_eps, 3),
        "identical": identical,
    }
