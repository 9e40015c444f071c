"""compute_product_features: product-wide features from ``kairos.events.by-product.v1``.

Product popularity, conversion and co-purchases need the activity of every user partition, so the user-keyed
feature stage re-keys the events that change a product by product id. This stage owns product partitions: per
partition a :class:`~streams.features.FeatureState` (only its product rows are published) and a
:class:`~streams.dedup.DedupWindow` by event id — the same purchase arrives once per product it contains, and a
replay of the user-keyed stage may send a copy twice; each event is applied once per partition. Rows go to the hot
copy and the coalescing Feast writer; state is checkpointed like the feature stage's.

``stock`` comes from the catalogue, not from events: each row carries the worker's global catalogue table's stock
(:mod:`streams.catalogue`), and a product whose catalogue record changed is republished with the next batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Message, Producer

from agents.compute_features import RowSink
from agents.dead_letter import send_dead_letter
from featurestore.hot import FeatureCache
from schemas.codec import EventDecoder
from schemas.errors import DeadLetterReason, PoisonMessageError
from streams.catalogue import CatalogueTable
from streams.checkpoint import PartitionCheckpoints
from streams.config import KafkaConfig, TopicsConfig
from streams.dedup import DedupWindow
from streams.features import FeatureConfig, FeatureState
from streams.metrics import FEATURE_EVENTS
from streams.reader import read_range

__all__ = ["ProductFeatureHandler"]

logger = logging.getLogger(__name__)

STAGE = "product_features"
PRODUCT_VIEW = "kairos_product"


class ProductFeatureHandler:
    """The product stage's :class:`~streams.batch_loop.BatchHandler`."""

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: TopicsConfig,
        cache: FeatureCache,
        sink: RowSink,
        checkpoint_dir: Path,
        *,
        catalogue: CatalogueTable | None = None,
        config: FeatureConfig | None = None,
        dedup_capacity: int = 200_000,
        dedup_window_s: float = 3600.0,
        checkpoint_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self._source = topics.events_by_product
        self._dead = topics.dead_letters
        self._cache = cache
        self._sink = sink
        self._catalogue = catalogue or CatalogueTable()
        # Events reach a product partition from every user partition, each stage at its own pace: allow an hour.
        self._config = config or FeatureConfig(allowed_lateness_s=3600.0)
        self._dedup = (dedup_capacity, dedup_window_s)
        self._clock = clock
        self._decode = EventDecoder().decode
        self.checkpoints: PartitionCheckpoints[tuple[FeatureState, DedupWindow]] = PartitionCheckpoints(
            checkpoint_dir, STAGE, self._source, before_save=sink.flush, every_s=checkpoint_every_s, clock=clock
        )

    def assigned(self, topic: str, partition: int, committed: int) -> None:
        """Load the checkpoint and replay from it up to ``committed``."""
        start, (state, dedup) = self.checkpoints.restore(
            partition, lambda: (FeatureState(self._config), DedupWindow(*self._dedup))
        )
        owned: set[str] = set()
        for msg in read_range(self._kafka, topic, partition, start, max(committed, 0)):
            if self._apply(state, dedup, msg) is True:
                owned.add((msg.key() or b"").decode())
        self.checkpoints.adopt(partition, (state, dedup), start, committed)
        self._publish(state, owned)
        logger.info("product features partition=%s checkpoint_offset=%s committed=%s", partition, start, committed)

    def revoked(self, topic: str, partition: int) -> None:
        """Checkpoint and forget the partition."""
        self.checkpoints.release(partition)

    def handle(self, messages: list[Message], producer: Producer) -> None:
        """Apply a batch once per event id; publish the rows of the products this partition owns."""
        changed: dict[int, set[str]] = {}
        applied = late = 0
        checkpoints = self.checkpoints
        for msg in messages:
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if checkpoints.covers(partition, offset):
                continue
            state, dedup = checkpoints.states[partition]
            checkpoints.advance(partition, offset)
            try:
                outcome = self._apply(state, dedup, msg)
            except PoisonMessageError as exc:
                send_dead_letter(producer, msg, exc, stage=STAGE, topic=self._dead, now_s=self._clock())
                continue
            if outcome is None:
                continue
            if outcome is False:
                late += 1
                error = PoisonMessageError(
                    DeadLetterReason.LATE_EVENT, "older than the product partition's watermark minus the lateness"
                )
                send_dead_letter(producer, msg, error, stage=STAGE, topic=self._dead, now_s=self._clock())
            else:
                applied += 1
                changed.setdefault(partition, set()).add((msg.key() or b"").decode())
        restocked = self._catalogue.drain_changed()
        for partition, (state, _) in checkpoints.states.items():
            self._publish(state, changed.get(partition, set()) | restocked.intersection(state.product_ids()))
        FEATURE_EVENTS.labels("product_applied").inc(applied)
        FEATURE_EVENTS.labels("product_late").inc(late)
        checkpoints.maybe_save()

    def _apply(self, state: FeatureState, dedup: DedupWindow, msg: Message) -> bool | None:
        """True: applied; False: late; None: a copy already applied on this partition."""
        event = self._decode(msg.value() or b"")
        if not dedup.add(event.event_id, event.event_time.timestamp()):
            return None
        return not state.apply(event).late

    def _publish(self, state: FeatureState, product_ids: set[str]) -> None:
        if not product_ids:
            return
        now = datetime.fromtimestamp(state.watermark / 1e6, UTC) if state.watermark > 0 else datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        stock = self._catalogue.stock
        for product_id in product_ids:
            row = state.product_row(product_id, now)
            if row is not None:
                row["stock"] = stock(product_id)
                rows[product_id] = row
        self._cache.put("product", rows)
        self._sink.offer(PRODUCT_VIEW, {k: {**r, "product_id": k, "event_timestamp": now} for k, r in rows.items()})
