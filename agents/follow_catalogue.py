"""follow_catalogue: keep the worker's global catalogue table current from ``kairos.catalogue.v1``.

Every worker follows every partition (no consumer group, nothing committed): the table is rebuilt from the
compacted topic at each start. A record that does not decode is dead-lettered with stage ``follow_catalogue``;
since every worker follows the whole topic, each worker reports it once (same source coordinates in the headers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from confluent_kafka import Message, Producer

from agents.dead_letter import send_dead_letter
from schemas.errors import PoisonMessageError
from streams.catalogue import CatalogueFollower, CatalogueTable
from streams.clients import producer_config
from streams.config import KafkaConfig, TopicsConfig

__all__ = ["CatalogueStage"]

STAGE = "follow_catalogue"


class CatalogueStage:
    """A :class:`CatalogueFollower` with a dead-letter producer; ``run(stop)`` like a batch loop."""

    def __init__(
        self, kafka: KafkaConfig, topics: TopicsConfig, table: CatalogueTable, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._producer = Producer(producer_config(kafka))
        self._dead = topics.dead_letters
        self._clock = clock
        self.follower = CatalogueFollower(kafka, topics.catalogue, table, on_poison=self._dead_letter)

    def _dead_letter(self, msg: Message, error: PoisonMessageError) -> None:
        send_dead_letter(self._producer, msg, error, stage=STAGE, topic=self._dead, now_s=self._clock())

    def ready(self) -> bool:
        """Whether the table has caught up with every partition once (readiness, ``/readyz``)."""
        return self.follower.caught_up.is_set()

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop``; then deliver the dead letters still buffered."""
        try:
            self.follower.run(stop)
        finally:
            self._producer.flush(10.0)
