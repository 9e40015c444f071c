"""``kairos bench ingest``: events/s through decode+validate+dedupe+route, against a raw passthrough.

Both runs use the same broker, the same pre-loaded records, the same partition count, the same producer settings
(idempotent, lz4, linger) and the same per-batch flush-then-commit discipline; the passthrough just skips the
per-record work. Group joins are excluded: timing starts at the first batch.
"""

from __future__ import annotations

import io
import sys
import threading
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from agents.ingest import IngestHandler
from bench.records import generate_records
from bench.stack import bench_broker
from kairos.progress import progress
from schemas.codec import EventDecoder
from streams.batch_loop import BatchLoop
from streams.clients import consumer_config, producer_config
from streams.config import IngestConfig, KafkaConfig, TopicsConfig
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor
from streams.topics import ensure_topics, topic_specs

__all__ = ["run"]


def _preload(kafka: KafkaConfig, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(producer_config(kafka))
    with progress(f"pre-loading {topic}", total=len(records), unit="rec") as bar:
        for i, (key, value) in enumerate(records):
            producer.produce(topic, value, key)
            if i % 20_000 == 0:
                producer.poll(0)
                bar.update(i - bar.n)
        bar.update(len(records) - bar.n)
    if producer.flush(60):
        raise RuntimeError("pre-load not acknowledged")


def _passthrough(kafka: KafkaConfig, source: str, sink: str, n: int, batch_size: int) -> float:
    """Raw confluent-kafka consume → produce (no decoding) → flush → commit; returns events/s."""
    consumer = Consumer(consumer_config(kafka, "bench-passthrough"))
    producer = Producer(producer_config(kafka, **{"enable.idempotence": True}))
    consumer.subscribe([source])
    done, started = 0, 0.0
    bar = progress("raw passthrough", total=n, unit="rec")
    try:
        while done < n:
            batch = consumer.consume(batch_size, 0.05)
            if not batch:
                continue
            if not started:
                started = time.perf_counter()
            produce = producer.produce
            last: dict[int, int] = {}
            for msg in batch:
                partition = msg.partition() or 0
                produce(sink, msg.value(), msg.key(), partition)
                last[partition] = (msg.offset() or 0) + 1
            if producer.flush(30):
                raise RuntimeError("passthrough: records not acknowledged")
            consumer.commit(offsets=[TopicPartition(source, p, o) for p, o in last.items()], asynchronous=False)
            done += len(batch)
            bar.update(len(batch))
        return n / (time.perf_counter() - started)
    finally:
        bar.close()
        consumer.close()


def _kairos(kafka: KafkaConfig, topics: TopicsConfig, config: IngestConfig, n: int) -> tuple[float, int]:
    handler = IngestHandler(kafka, topics, config)
    marks: list[float] = []
    bar = progress("kairos ingest", total=n, unit="rec")

    def on_batch(count: int, seconds: float) -> None:
        bar.update(count)
        now = time.perf_counter()
        if not marks:
            marks.append(now - seconds)
        marks.append(now)

    loop = BatchLoop(
        kafka, config.group_id, [topics.raw_events], handler, batch_size=config.batch_size, on_batch=on_batch
    )
    stop = threading.Event()

    def watch() -> None:
        while loop.records < n and not stop.wait(0.005):
            pass
        stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        loop.run(stop)  # in this thread, so a profiler started here sees it
    finally:
        stop.set()
        bar.close()
    watcher.join()
    if loop.records < n:
        raise RuntimeError(f"ingest stopped after {loop.records} of {n} records")
    return n / (marks[-1] - marks[0]), loop.batches


def _micro(records: list[tuple[bytes, bytes]]) -> dict[str, float]:
    """Per-record cost of the pure steps, in-process (µs/event)."""
    values = [v for _, v in records]
    decoder = EventDecoder()
    ingestor = Ingestor(decoder, ClockRules())
    now = datetime.now(UTC).timestamp()

    def decode_all() -> None:
        for v in values:
            try:
                decoder.decode(v)
            except Exception:  # noqa: BLE001 - bad records are part of the mix being timed
                continue

    def route_all() -> None:
        dedup = DedupWindow(100_000, 3600.0)
        route = ingestor.route
        for v in values:
            route(v, dedup, now)

    n = len(values)
    return {
        "decode_validate_us": min(timeit.repeat(decode_all, number=1, repeat=3)) / n * 1e6,
        "route_us": min(timeit.repeat(route_all, number=1, repeat=3)) / n * 1e6,
    }


def run(
    *,
    events: int = 200_000,
    partitions: int = 4,
    malformed_rate: float = 0.01,
    batch_size: int = 5000,
    profile: bool = False,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Run both measurements on one fresh broker; returns the figures (``ratio`` = Kairos / passthrough)."""
    records = generate_records(events, seed=11, malformed_rate=malformed_rate)
    micro = _micro(records[: min(len(records), 50_000)])
    log(f"records={len(records)} mean_bytes={sum(len(v) for _, v in records) / len(records):.0f} {micro}")
    with bench_broker() as broker:
        kafka = KafkaConfig(bootstrap=broker.bootstrap)
        raw_ns = TopicsConfig(namespace="bench-raw", partitions=partitions)
        our_ns = TopicsConfig(namespace="bench-kairos", partitions=partitions)
        for ns in (raw_ns, our_ns):
            ensure_topics(kafka, topic_specs(ns))
            _preload(kafka, ns.raw_events, records)
        raw_eps = _passthrough(kafka, raw_ns.raw_events, raw_ns.events, len(records), batch_size)
        log(f"raw passthrough: {raw_eps:,.0f} events/s")
        config = IngestConfig(group_id="bench-kairos", batch_size=batch_size)
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        kairos_eps, batches = _kairos(kafka, our_ns, config, len(records))
        if profiler is not None:
            profiler.stop()
            buffer = io.StringIO()
            buffer.write(profiler.output_text(unicode=False, color=False, show_all=False))
            log(buffer.getvalue())
        log(f"kairos ingest: {kairos_eps:,.0f} events/s over {batches} batches")
    return {
        "benchmark": "ingest",
        "events": len(records),
        "partitions": partitions,
        "batch_size": batch_size,
        "malformed_rate": malformed_rate,
        "events_per_s": round(kairos_eps),
        "raw_events_per_s": round(raw_eps),
        "ratio": round(kairos_eps / raw_eps, 3),
        **{k: round(v, 3) for k, v in micro.items()},
    }
