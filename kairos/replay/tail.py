"""Reads what the replay's own stages wrote: every new record of some topics, up to known ends, in a fixed order."""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kairos.replay.errors import ReplayError
from streams.clients import consumer_config
from streams.config import KafkaConfig

__all__ = ["TopicTail"]


class TopicTail:
    """A group-less reader of every partition of ``topics`` from the start, handing out records by known ends.

    :meth:`read` returns the records between the last read and ``ends`` (where the replay's producer saw its
    records acknowledged), sorted by partition, then topic (in the order given), then offset: the same batch for
    the same records, whatever order the broker's fetches delivered them in.

    Args:
        kafka: the broker.
        topics: topics to read.
        partitions: their partition count.
        stall_s: give up when nothing arrives for this long although records are due.
    """

    def __init__(self, kafka: KafkaConfig, topics: list[str], partitions: int, stall_s: float = 30.0) -> None:
        self._consumer = Consumer(consumer_config(kafka, None))
        self._order = {t: i for i, t in enumerate(topics)}
        self._next = {(t, p): 0 for t in topics for p in range(partitions)}
        self._stall_s = stall_s
        self._consumer.assign([TopicPartition(t, p, 0) for t, p in self._next])

    def read(self, ends: Mapping[tuple[str, int], int]) -> list[Message]:
        """Every record of the tail's partitions before ``ends`` not read yet.

        Raises:
            ReplayError: the broker stopped delivering records that were acknowledged.
        """
        due = {tp: end for tp, nxt in self._next.items() if (end := ends.get(tp, 0)) > nxt}
        out: list[Message] = []
        last_progress = time.monotonic()
        while due:
            messages = self._consumer.consume(10_000, 0.05)
            if not messages and time.monotonic() - last_progress > self._stall_s:
                raise ReplayError(f"records acknowledged but not delivered within {self._stall_s:.0f} s: {due}")
            for msg in messages:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(err)
                tp, offset = (msg.topic() or "", msg.partition() or 0), msg.offset() or 0
                if offset < self._next[tp]:
                    continue
                self._next[tp] = offset + 1
                out.append(msg)
                last_progress = time.monotonic()
                if tp in due and offset + 1 >= due[tp]:
                    del due[tp]
        out.sort(key=lambda m: (m.partition() or 0, self._order[m.topic() or ""], m.offset() or 0))
        return out

    def close(self) -> None:
        """Leave the broker."""
        self._consumer.close()
