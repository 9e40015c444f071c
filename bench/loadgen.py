"""Steady offered load and end-to-end latency: produce records at a fixed rate, time their answers on another topic.

The producer paces itself on a schedule (record ``i`` is due at ``t0 + i / rate``; a late producer catches up
without sleeping, so the offered rate holds on average and coordinated omission is avoided: latency is measured
from the due time, not from when the producer got round to it). A consumer thread reads the answer topic from its
end and matches each answer to its request by an id the caller extracts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Producer, TopicPartition

from streams.clients import consumer_config, producer_config
from streams.config import KafkaConfig

__all__ = ["AnswerWatcher", "LoadResult", "offer_load", "percentile"]


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by the nearest-rank method; 0.0 when empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99)
    (2.0, 4.0)
    """
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    """What the load generator sent: due time (perf_counter seconds) per request id, and the span."""

    due: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    behind_max_s: float = 0.0


class AnswerWatcher:
    """Reads ``topic`` from its current end in a thread; records the arrival time of each answer by request id.

    Args:
        kafka: broker connection.
        topic: the answer topic.
        partitions: its partition count.
        request_id: extracts (request id, extra) from an answer's value; ``None`` skips the record.
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        topic: str,
        partitions: int,
        request_id: Callable[[bytes], tuple[str, str] | None],
    ) -> None:
        self.arrived: dict[str, float] = {}
        self.extra: dict[str, str] = {}
        self._request_id = request_id
        self._stop = threading.Event()
        self._consumer = Consumer(consumer_config(kafka, None, **{"fetch.wait.max.ms": 1, "fetch.min.bytes": 1}))
        ends = []
        for p in range(partitions):
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)
            ends.append(TopicPartition(topic, p, max(0, int(high))))
        self._consumer.assign(ends)
        self._thread = threading.Thread(target=self._run, name="answer-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        consumer, request_id = self._consumer, self._request_id
        while not self._stop.is_set():
            for msg in consumer.consume(1000, 0.001):
                now = time.perf_counter()
                if msg.error() is not None:
                    continue
                found = request_id(msg.value() or b"")
                if found is not None and found[0] not in self.arrived:
                    self.arrived[found[0]] = now
                    self.extra[found[0]] = found[1]

    def wait_for(self, ids: Iterable[str], timeout_s: float) -> None:
        """Return once every id arrived or ``timeout_s`` passed."""
        wanted = set(ids)
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline and not wanted <= self.arrived.keys():
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the thread and close the consumer."""
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


def offer_load(
    kafka: KafkaConfig,
    topic: str,
    records: Iterable[tuple[str, bytes, bytes]],
    *,
    rate: float,
) -> LoadResult:
    """Produce ``(request id, key, value)`` records at ``rate`` per second; returns each request's due time."""
    producer = Producer(producer_config(kafka, **{"linger.ms": 0, "compression.type": "none"}))
    result = LoadResult()
    interval = 1.0 / rate
    start = time.perf_counter() + 0.05
    result.started = start
    for i, (request, key, value) in enumerate(records):
        due = start + i * interval
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            result.behind_max_s = max(result.behind_max_s, -wait)
        producer.produce(topic, value, key)
        producer.poll(0)
        result.due[request] = due
    result.finished = time.perf_counter()
    producer.flush(30)
    return result
