"""The shop's catalogue as a global, in-process table: every worker follows all of ``kairos.catalogue.v1``.

The catalogue is a dimension table (one record per product, compacted topic), small next to the event stream and
needed whole by every worker: the stock guardrail and the concierge may ask about any product, whichever
partitions the worker owns. So it is not consumed in a group: :class:`CatalogueFollower` assigns every partition
from the beginning and applies records to a :class:`CatalogueTable` for as long as the worker runs (faust calls
this a global table). The table is pure: the newest ``updated_at`` per product wins, whatever the arrival order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from confluent_kafka import Consumer, Message

from schemas.catalogue import CatalogueItem
from schemas.codec import StructDecoder
from schemas.errors import PoisonMessageError
from streams.clients import consumer_config
from streams.config import KafkaConfig
from streams.features.product import UNKNOWN_STOCK
from streams.follow import PartitionEnds, assign_all

__all__ = ["UNKNOWN_STOCK", "CatalogueFollower", "CatalogueTable"]

logger = logging.getLogger(__name__)


class CatalogueTable:
    """Latest :class:`CatalogueItem` per product id; thread-safe for one writer and many readers.

    >>> from datetime import UTC, datetime
    >>> table = CatalogueTable()
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> item = CatalogueItem(product_id="p1", updated_at=t, schema_version=1, title="Mug", category="home",
    ...                      price=9.0, stock=3)
    >>> table.apply(item), table.stock("p1"), table.stock("p2")
    (True, 3, -1)
    >>> table.apply(item), len(table)
    (False, 1)
    """

    __slots__ = ("_changed", "_items", "_lock")

    def __init__(self) -> None:
        self._items: dict[str, CatalogueItem] = {}
        self._changed: set[str] = set()
        self._lock = threading.Lock()

    def apply(self, item: CatalogueItem) -> bool:
        """Keep ``item`` if it is newer than what the table holds; return whether anything changed.

        Ties on ``updated_at`` keep the record already held, so re-reading the topic changes nothing.
        """
        held = self._items.get(item.product_id)
        if held is not None and item.updated_at <= held.updated_at:
            return False
        with self._lock:
            self._items[item.product_id] = item
            self._changed.add(item.product_id)
        return True

    def get(self, product_id: str) -> CatalogueItem | None:
        """The product's latest record, or ``None``."""
        return self._items.get(product_id)

    def stock(self, product_id: str) -> int:
        """Units in stock, 0 for an inactive product, :data:`UNKNOWN_STOCK` when the catalogue has no record."""
        item = self._items.get(product_id)
        if item is None:
            return UNKNOWN_STOCK
        return item.stock if item.active else 0

    def items(self) -> list[CatalogueItem]:
        """Every active product's latest record, ordered by product id."""
        return sorted((i for i in self._items.values() if i.active), key=lambda i: i.product_id)

    def drain_changed(self) -> set[str]:
        """The product ids changed since the last call (for republishing product rows)."""
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    def __len__(self) -> int:
        return len(self._items)

    def updated_until(self) -> datetime | None:
        """The newest ``updated_at`` held (how current the table is), or ``None`` when empty."""
        return max((i.updated_at for i in self._items.values()), default=None)


class CatalogueFollower:
    """Follows every partition of the catalogue topic from the beginning into a :class:`CatalogueTable`.

    Args:
        kafka: broker connection.
        topic: the catalogue topic.
        table: the table to keep current.
        on_poison: called with the record and the error for a record that does not decode (the worker
            dead-letters it; every worker follows the whole topic, so each one reports it).
        poll_timeout_s: how long one poll waits.
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        topic: str,
        table: CatalogueTable,
        *,
        on_poison: Callable[[Message, PoisonMessageError], None] | None = None,
        poll_timeout_s: float = 0.2,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._table = table
        self._on_poison = on_poison
        self._poll_timeout_s = poll_timeout_s
        self._decode = StructDecoder(CatalogueItem).decode
        self.caught_up = threading.Event()
        self.applied = 0
        self.rejected = 0

    def apply(self, messages: Iterable[Message]) -> None:
        """Apply a batch of records (errors and end-of-partition events are skipped)."""
        for msg in messages:
            if msg.error() is not None:
                continue
            try:
                item = self._decode(msg.value() or b"")
            except PoisonMessageError as exc:
                self.rejected += 1
                logger.warning("bad catalogue record partition=%s offset=%s: %s", msg.partition(), msg.offset(), exc)
                if self._on_poison is not None:
                    self._on_poison(msg, exc)
                continue
            self.applied += self._table.apply(item)

    def run(self, stop: threading.Event) -> None:
        """Follow the topic until ``stop`` is set; ``caught_up`` is set once every partition reached its end."""
        consumer = Consumer(consumer_config(self._kafka, None, **{"enable.partition.eof": True}))
        try:
            ends = PartitionEnds(assign_all(consumer, [self._topic]))
            while not stop.is_set():
                batch = ends.records(consumer.consume(10_000, self._poll_timeout_s))
                self.apply(batch)
                if ends.caught_up and not self.caught_up.is_set():
                    self.caught_up.set()
                    logger.info("catalogue caught up products=%d", len(self._table))
        finally:
            consumer.close()
