"""Per-product streaming state for ``PRODUCT_FEATURES``: price, category, 1 h views/purchases, co-purchases.

Every feature is a function of the set of the product's events (arrival order never matters). Definitions:

- ``price`` / ``category``: from the latest product view (when it states them), add to cart (``unit_price``) or
  purchase line (``unit_price``); "latest" orders by ``(event time, event_id, line index)``. 0.0 / '' if unknown.
- ``views_1h``: product views with ``now - 1 h < t <= now``; ``purchases_1h``: units bought in the same window;
  ``conversion_rate_1h`` = ``purchases_1h / views_1h`` (0 without views; may exceed 1).
- ``stock``: always :data:`UNKNOWN_STOCK` here; the product stage overlays the catalogue's stock.
- ``co_purchased``: the other products of the orders containing this one, by number of such orders (all time),
  ties alphabetically, at most 5.

Memory: the two windows are pruned by time; the co-purchase counts are bounded by the catalogue.
"""

from __future__ import annotations

from heapq import nsmallest
from typing import Final

from streams.features.rows import FeatureRow
from streams.features.windows import MICROS_PER_SECOND, SlidingWindow

__all__ = ["CO_PURCHASED_TOP", "PRODUCT_WINDOW", "UNKNOWN_STOCK", "ProductState"]

PRODUCT_WINDOW: Final = 3600 * MICROS_PER_SECOND
"""Window of ``views_1h`` and ``purchases_1h``, in microseconds."""

CO_PURCHASED_TOP: Final = 5
"""How many neighbours ``co_purchased`` lists."""

UNKNOWN_STOCK: Final = -1
"""``stock`` as events know it: stock comes from the catalogue topic, and the product stage fills it in."""

_Key = tuple[int, str, int]


class ProductState:
    """The streaming state of one product.

    >>> product = ProductState()
    >>> product.observe(t=0, event_id="e1", line=0, price=9.5, category="books")
    >>> product.view(t=10, horizon=10)
    >>> product.view(t=20, horizon=20)
    >>> product.buy(t=30, units=1, others=("p2", "p3"), horizon=30)
    >>> product.buy(t=40, units=2, others=("p3",), horizon=40)
    >>> row = product.row(now=40)
    >>> row["price"], row["views_1h"], row["purchases_1h"], row["conversion_rate_1h"], row["co_purchased"]
    (9.5, 2, 3, 1.5, ['p3', 'p2'])
    """

    __slots__ = ("_category_key", "_co", "_price_key", "category", "price", "units", "views")

    def __init__(self) -> None:
        self.price = 0.0
        self.category = ""
        self._price_key: _Key | None = None
        self._category_key: _Key | None = None
        self.views = SlidingWindow(PRODUCT_WINDOW)
        self.units = SlidingWindow(PRODUCT_WINDOW)
        self._co: dict[str, int] = {}

    def observe(self, t: int, event_id: str, line: int, price: float | None, category: str | None) -> None:
        """Note the price and category an event states (``None`` = not stated); the latest statement wins."""
        key = (t, event_id, line)
        if price is not None and (self._price_key is None or key > self._price_key):
            self._price_key = key
            self.price = price
        if category is not None and (self._category_key is None or key > self._category_key):
            self._category_key = key
            self.category = category

    def view(self, t: int, horizon: int) -> None:
        """Count a product view at ``t``; ``horizon`` is the earliest ``now`` a later read may ask for."""
        self.views.add(t)
        self.views.prune(horizon - PRODUCT_WINDOW)

    def buy(self, t: int, units: int, others: tuple[str, ...], horizon: int) -> None:
        """Count ``units`` bought at ``t`` in an order that also contained the products ``others``."""
        self.units.add(t, units)
        self.units.prune(horizon - PRODUCT_WINDOW)
        co = self._co
        for other in others:
            co[other] = co.get(other, 0) + 1

    def row(self, now: int) -> FeatureRow:
        """The product's ``PRODUCT_FEATURES`` row at event time ``now`` (microseconds)."""
        views = self.views.total(now)
        units = self.units.total(now)
        best = nsmallest(CO_PURCHASED_TOP, self._co.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "price": self.price,
            "category": self.category,
            "views_1h": views,
            "purchases_1h": units,
            "conversion_rate_1h": units / views if views else 0.0,
            "co_purchased": [product_id for product_id, _ in best],
            "stock": UNKNOWN_STOCK,
        }
