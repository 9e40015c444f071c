"""The broker's share of a decision's latency: the same load through the same number of hops, with no work.

``kairos bench decide`` measures trigger produced -> decision consumed through three consumer fetches (ingest, the
feature/decision stage, the reader). This module runs the same offered load through two pass-through batch loops
(same batch size, poll timeout and fetch wait as the worker's stages) and the same reader, on the same broker, so
the difference between the two figures is what Kairos' own work costs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import orjson
from confluent_kafka import Message, Producer

from bench.loadgen import AnswerWatcher, LoadResult, offer_load
from kairos.settings import Settings
from streams.batch_loop import BatchLoop
from streams.topics import TopicSpec, ensure_topics

__all__ = ["PassThrough", "hop_floor"]


class PassThrough:
    """A batch handler that forwards every record, key and bytes unchanged, to the same partition of ``output``."""

    def __init__(self, output: str) -> None:
        self.output = output

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Nothing to restore."""

    def revoked(self, topic: str, partition: int) -> None:
        """Nothing to drop."""

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Forward the batch."""
        for msg in messages:
            producer.produce(self.output, msg.value(), msg.key(), partition=msg.partition() or 0)


def _event_id(value: bytes) -> tuple[str, str] | None:
    return str(orjson.loads(value)["event_id"]), ""


def hop_floor(
    settings: Settings, records: Iterator[tuple[str, bytes, bytes]], rate: float
) -> tuple[LoadResult, AnswerWatcher]:
    """Offer ``records`` at ``rate`` through two pass-through stages; returns what was sent and when it arrived."""
    ns, partitions = settings.topics.namespace, settings.topics.partitions
    names = [f"{ns}.floor.{hop}" for hop in ("in", "mid", "out")]
    ensure_topics(settings.kafka, [TopicSpec(n, partitions, settings.topics.replication_factor) for n in names])
    stop = threading.Event()
    loops = [
        BatchLoop(
            settings.kafka,
            f"{ns}-floor-{i}",
            [source],
            PassThrough(target),
            batch_size=settings.ingest.batch_size,
            poll_timeout_s=settings.ingest.poll_timeout_s,
        )
        for i, (source, target) in enumerate(itertools.pairwise(names))
    ]
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    watcher = AnswerWatcher(settings.kafka, names[-1], partitions, _event_id)
    try:
        # both stages must have joined their groups (seconds on Tansu) before the timed load starts
        primer = [(f"primer-{i}", str(i).encode(), orjson.dumps({"event_id": f"primer-{i}"})) for i in range(16)]
        primed = offer_load(settings.kafka, names[0], primer, rate=100.0)
        watcher.wait_for(primed.due, timeout_s=120)
        sent = offer_load(settings.kafka, names[0], records, rate=rate)
        watcher.wait_for(sent.due, timeout_s=30)
    finally:
        watcher.close()
        stop.set()
        for thread in threads:
            thread.join(30)
    return sent, watcher
