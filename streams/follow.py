"""Following whole topics without a group: assign every partition, and tell when each has reached its end.

Several readers need every partition of a topic rather than a group's share: the catalogue and the policy
releases (global tables every worker keeps whole), dead-letter listing and re-drive, provenance recovery, the
archive. They assign with :func:`assign_all` from the beginning or from known offsets, with
``enable.partition.eof`` set, and feed what they consume to a :class:`PartitionEnds`, which says when every
partition has reached the end it had (the fetch high watermark, right on Tansu too, unlike ListOffsets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from streams.errors import TopicMissingError

__all__ = ["PartitionEnds", "assign_all", "is_end", "partitions_of"]


def is_end(msg: Message) -> bool:
    """Whether ``msg`` is an end-of-partition event rather than a record or another error.

    >>> from confluent_kafka import KafkaError, Message
    >>> is_end(Message(topic="t", partition=0, error=KafkaError(KafkaError._PARTITION_EOF)))
    True
    >>> is_end(Message(topic="t", partition=0, offset=3, value=b"{}"))
    False
    """
    err = msg.error()
    return err is not None and err.code() == KafkaError._PARTITION_EOF


def partitions_of(consumer: Consumer, topics: Iterable[str], *, timeout_s: float = 10.0) -> list[TopicPartition]:
    """Every partition of ``topics``, topic by topic in partition order, each from the beginning (not assigned).

    Raises:
        TopicMissingError: a topic does not exist or has no partitions.
    """
    out: list[TopicPartition] = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            reason = "not found" if meta is None or meta.error is None else meta.error
            raise TopicMissingError(f"topic {topic}: {reason}")
        out.extend(TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions))
    return out


def assign_all(
    consumer: Consumer,
    topics: Iterable[str],
    *,
    starts: Mapping[tuple[str, int], int] | None = None,
    timeout_s: float = 10.0,
) -> list[TopicPartition]:
    """Assign every partition of ``topics``: from ``starts[(topic, partition)]`` where given, else the beginning.

    Args:
        consumer: a group-less consumer (``consumer_config(kafka, None, ...)``); set ``enable.partition.eof``
            to follow the ends with :class:`PartitionEnds`.
        topics: the topics to follow whole.
        starts: next offsets to read by ``(topic, partition)``, e.g. a checkpoint's or a group's committed ones.
        timeout_s: how long the metadata request may take.

    Returns:
        The assignment.

    Raises:
        TopicMissingError: a topic does not exist or has no partitions.
    """
    assignment = partitions_of(consumer, topics, timeout_s=timeout_s)
    for tp in assignment:
        tp.offset = (starts or {}).get((tp.topic, tp.partition), tp.offset)
    consumer.assign(assignment)
    return assignment


class PartitionEnds:
    """Which of the followed partitions have not reached their end yet; fed every message consumed.

    A partition counts as at its end from its first end-of-partition event on. With ``reopen=True`` a record
    read after that makes it pending again, so :attr:`caught_up` means "at the end at once" rather than "each
    reached its end once".

    >>> from confluent_kafka import KafkaError, Message, TopicPartition
    >>> ends = PartitionEnds([TopicPartition("t", 0), TopicPartition("t", 1)])
    >>> eof = KafkaError(KafkaError._PARTITION_EOF)
    >>> ends.note(Message(topic="t", partition=0, error=eof)), ends.caught_up, ends.pending
    (True, False, [('t', 1)])
    >>> ends.note(Message(topic="t", partition=1, offset=7, value=b"{}")), ends.caught_up
    (False, False)
    >>> [m.offset() for m in ends.records([Message(topic="t", partition=1, offset=8), Message(topic="t",
    ...     partition=1, error=eof)])], ends.caught_up
    ([8], True)
    """

    __slots__ = ("_pending", "_reopen")

    def __init__(self, partitions: Iterable[TopicPartition], *, reopen: bool = False) -> None:
        self._pending = {(tp.topic, tp.partition) for tp in partitions}
        self._reopen = reopen

    def note(self, msg: Message) -> bool:
        """Take ``msg`` into account; return whether it was an end-of-partition event."""
        coordinates = (msg.topic() or "", msg.partition() or 0)
        if is_end(msg):
            self._pending.discard(coordinates)
            return True
        if self._reopen and msg.error() is None:
            self._pending.add(coordinates)
        return False

    def records(self, batch: Iterable[Message]) -> list[Message]:
        """Note the end-of-partition events in ``batch`` and return the rest (records and other errors), in order."""
        return [msg for msg in batch if not self.note(msg)]

    @property
    def caught_up(self) -> bool:
        """Every followed partition is at its end."""
        return not self._pending

    @property
    def pending(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs not at their end, sorted."""
        return sorted(self._pending)
