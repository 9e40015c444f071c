"""streams.follow and streams.reader.read_to_end: whole-topic assignment and end-of-partition tracking, on fakes."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from streams.errors import TopicMissingError
from streams.follow import PartitionEnds, assign_all, is_end, partitions_of
from streams.reader import read_to_end

EOF = KafkaError(KafkaError._PARTITION_EOF)


def record(topic: str, partition: int, offset: int) -> Message:
    return Message(topic=topic, partition=partition, offset=offset, value=b"{}")


def end(topic: str, partition: int) -> Message:
    return Message(topic=topic, partition=partition, error=EOF)


class FakeConsumer:
    """Metadata for ``layout`` (topic to partition ids; ``None``: the topic is missing) and scripted batches."""

    def __init__(self, layout: dict[str, list[int] | None], batches: list[list[Message]] | None = None) -> None:
        self.layout = layout
        self.batches: Iterator[list[Message]] = iter(batches or [])
        self.assigned: list[TopicPartition] | None = None

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        parts = self.layout.get(topic)
        topics = {} if parts is None else {topic: SimpleNamespace(error=None, partitions=dict.fromkeys(parts))}
        return SimpleNamespace(topics=topics)

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = partitions

    def assignment(self) -> list[TopicPartition]:
        return self.assigned or []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return next(self.batches, [])


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (end("t", 0), True),
        (record("t", 0, 1), False),
        (Message(topic="t", partition=0, error=KafkaError(KafkaError._TRANSPORT)), False),
    ],
)
def test_is_end_only_for_end_of_partition_events(msg: Message, expected: bool) -> None:
    assert is_end(msg) is expected


def test_assign_all_takes_every_partition_in_order_from_starts_or_the_beginning() -> None:
    consumer = FakeConsumer({"a": [2, 0, 1], "b": [0]})
    assigned = assign_all(consumer, ["a", "b"], starts={("a", 1): 40, ("b", 0): 7, ("c", 0): 9})  # type: ignore[arg-type]
    assert consumer.assigned is assigned
    assert [(tp.topic, tp.partition, tp.offset) for tp in assigned] == [
        ("a", 0, OFFSET_BEGINNING),
        ("a", 1, 40),
        ("a", 2, OFFSET_BEGINNING),
        ("b", 0, 7),
    ]


@pytest.mark.parametrize("layout", [{}, {"a": []}])
def test_a_missing_or_empty_topic_is_named(layout: dict[str, list[int] | None]) -> None:
    with pytest.raises(TopicMissingError, match="topic a"):
        partitions_of(FakeConsumer(layout), ["a"])  # type: ignore[arg-type]


def test_each_partition_counts_once_it_reached_its_end() -> None:
    ends = PartitionEnds([TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)])
    kept = ends.records([record("a", 0, 0), end("a", 0), record("a", 0, 1), end("b", 0)])
    assert [(m.topic(), m.partition(), m.offset()) for m in kept] == [("a", 0, 0), ("a", 0, 1)]
    assert ends.pending == [("a", 1)] and not ends.caught_up
    ends.note(end("a", 1))
    assert ends.caught_up and ends.pending == []


def test_reopen_needs_every_partition_at_its_end_at_once() -> None:
    ends = PartitionEnds([TopicPartition("a", 0), TopicPartition("a", 1)], reopen=True)
    ends.records([end("a", 0), end("a", 1), record("a", 0, 5)])
    assert ends.pending == [("a", 0)]
    ends.note(end("a", 0))
    assert ends.caught_up


def test_records_keeps_records_and_other_errors_in_order() -> None:
    failure = Message(topic="a", partition=0, error=KafkaError(KafkaError._TRANSPORT))
    kept = PartitionEnds([TopicPartition("a", 0)]).records([record("a", 0, 3), end("a", 0), failure])
    assert [(m.offset(), m.error()) for m in kept] == [(3, None), (None, failure.error())]


def test_read_to_end_stops_when_the_last_partition_reaches_its_end() -> None:
    batches = [[record("a", 0, 0), end("a", 0), record("a", 1, 0)], [record("a", 1, 1), end("a", 1), record("a", 0, 1)]]
    consumer = FakeConsumer({"a": [0, 1]}, batches)
    ends = PartitionEnds(assign_all(consumer, ["a"]))  # type: ignore[arg-type]
    got = [(m.partition(), m.offset()) for m in read_to_end(consumer, ends, 1.0, what="reading")]  # type: ignore[arg-type]
    assert got == [(0, 0), (1, 0), (1, 1)]


def test_read_to_end_names_a_failed_partition() -> None:
    failure = Message(topic="a", partition=1, error=KafkaError(KafkaError._TRANSPORT))
    consumer = FakeConsumer({"a": [0, 1]}, [[record("a", 0, 0), failure]])
    ends = PartitionEnds(assign_all(consumer, ["a"]))  # type: ignore[arg-type]
    reading = read_to_end(consumer, ends, 1.0, what="recovery scan of")  # type: ignore[arg-type]
    assert next(reading).offset() == 0
    with pytest.raises(RuntimeError, match=r"recovery scan of a\[1\] failed"):
        next(reading)


def test_read_to_end_of_nothing_pending_reads_nothing() -> None:
    consumer = FakeConsumer({}, [[record("a", 0, 0)]])
    assert list(read_to_end(consumer, PartitionEnds([]), 1.0, what="reading")) == []  # type: ignore[arg-type]
