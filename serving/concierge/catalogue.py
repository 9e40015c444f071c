"""The live catalogue: the latest :class:`CatalogueItem` per product, as the compacted catalogue topic defines it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum

from schemas.catalogue import CatalogueItem
from serving.concierge.errors import UnknownProductError

__all__ = ["CatalogueChange", "CatalogueIndex", "is_valid_product_id"]

_MAX_ID_LENGTH = 128


def is_valid_product_id(value: str) -> bool:
    """Whether ``value`` has the shape of a wire product id: 1-128 printable characters, no whitespace.

    >>> is_valid_product_id("p00042"), is_valid_product_id(""), is_valid_product_id("p 1")
    (True, False, False)
    """
    return 0 < len(value) <= _MAX_ID_LENGTH and value.isprintable() and not any(c.isspace() for c in value)


class CatalogueChange(StrEnum):
    """What applying one record did to the index."""

    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    STALE = "stale"
    """Older than the version already held (or a duplicate of it): ignored."""
    INACTIVE = "inactive"
    """An inactive record for a product the index does not hold: remembered as a tombstone only."""


class CatalogueIndex:
    """Latest-wins view of the catalogue: one active :class:`CatalogueItem` per product id.

    A record replaces the held version when its ``updated_at`` is newer or equal (equal: the later record in log
    order wins, as compaction would keep it). Inactive records remove the product; their time is remembered, so an
    older active version arriving late cannot bring it back. Pure and synchronous; pickles.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> index = CatalogueIndex()
    >>> item = CatalogueItem(product_id="p1", updated_at=t, schema_version=1, title="Mug", category="home",
    ...                      price=9.5, stock=3)
    >>> index.apply(item)
    <CatalogueChange.ADDED: 'added'>
    >>> index.get("p1").title, index.categories
    ('Mug', ('home',))
    """

    __slots__ = ("_categories", "_items", "_versions")

    def __init__(self, items: Iterable[CatalogueItem] = ()) -> None:
        self._items: dict[str, CatalogueItem] = {}
        self._versions: dict[str, datetime] = {}
        self._categories: Counter[str] = Counter()
        self.apply_many(items)

    def apply(self, item: CatalogueItem) -> CatalogueChange:
        """Fold one catalogue record in (latest ``updated_at`` wins; inactive removes).

        Args:
            item: a decoded record from the catalogue topic.

        Returns:
            What the record changed.
        """
        pid = item.product_id
        seen = self._versions.get(pid)
        if seen is not None and item.updated_at < seen:
            return CatalogueChange.STALE
        held = self._items.get(pid)
        if held is not None and held == item:
            return CatalogueChange.STALE
        self._versions[pid] = item.updated_at
        if held is not None:
            self._categories[held.category] -= 1
            if self._categories[held.category] <= 0:
                del self._categories[held.category]
        if not item.active:
            self._items.pop(pid, None)
            return CatalogueChange.REMOVED if held is not None else CatalogueChange.INACTIVE
        self._items[pid] = item
        self._categories[item.category] += 1
        return CatalogueChange.UPDATED if held is not None else CatalogueChange.ADDED

    def apply_many(self, items: Iterable[CatalogueItem]) -> Counter[CatalogueChange]:
        """Fold records in order; returns how many of each change happened."""
        return Counter(self.apply(item) for item in items)

    def get(self, product_id: str) -> CatalogueItem | None:
        """The live item with ``product_id``, or ``None`` (unknown, inactive, or not an id)."""
        return self._items.get(product_id)

    def require(self, product_id: str) -> CatalogueItem:
        """The live item with ``product_id``.

        Raises:
            UnknownProductError: the id is not a live product.
        """
        item = self._items.get(product_id)
        if item is None:
            raise UnknownProductError(product_id)
        return item

    def known(self, product_ids: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Split ids into (live products, everything else), each in input order without duplicates."""
        live: dict[str, None] = {}
        other: dict[str, None] = {}
        for pid in product_ids:
            (live if pid in self._items else other)[pid] = None
        return tuple(live), tuple(other)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories of the live items, sorted."""
        return tuple(sorted(self._categories))

    def items(self) -> Iterator[CatalogueItem]:
        """The live items in product id order."""
        for pid in sorted(self._items):
            yield self._items[pid]

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._items

    def __len__(self) -> int:
        return len(self._items)
