"""The product rows a decision's candidates come from — the current product, its co-purchase neighbours and the most
viewed products in stock — with the catalogue's stock overlaid: one implementation for the decision stage and the
evaluation loop, each bringing its own row lookup (the hot feature copy, or the in-process feature state).

>>> rows = {"a": {"views_1h": 3, "co_purchased": ["c"]}, "b": {"views_1h": 9}, "c": {"views_1h": 1}}
>>> popular = popular_products(rows, in_stock=lambda p: p != "b", top=2)
>>> popular
('a', 'c')
>>> sorted(candidate_rows("a", popular, lambda p: with_stock(rows.get(p), 5)))
['a', 'c']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from serving.models.inputs import FeatureRow

__all__ = ["candidate_rows", "popular_products", "views", "with_stock"]


def views(row: Mapping[str, Any] | None) -> float:
    """A product row's views in the last hour (0 when absent or not a number)."""
    value = (row or {}).get("views_1h", 0)
    return float(value) if isinstance(value, int | float) else 0.0


def popular_products(
    rows: Mapping[str, Mapping[str, Any] | None], in_stock: Callable[[str], bool], top: int
) -> tuple[str, ...]:
    """The ``top`` most viewed products in stock (ties: the smaller id)."""
    ranked = sorted(rows, key=lambda p: (-views(rows[p]), p))
    return tuple(p for p in ranked if in_stock(p))[:top]


def candidate_rows(
    current: str | None, popular: Iterable[str], row_of: Callable[[str], FeatureRow]
) -> dict[str, FeatureRow]:
    """Rows of the current product, the popular ones and the current product's co-purchase neighbours."""
    rows = {p: row_of(p) for p in (current, *popular) if p}
    neighbours = rows[current].get("co_purchased") if current else None
    if isinstance(neighbours, list | tuple):
        rows.update({str(n): row_of(str(n)) for n in neighbours if str(n) not in rows})
    return rows


def with_stock(row: Mapping[str, Any] | None, units: int) -> FeatureRow:
    """``row`` (or an empty one) with the catalogue's units in stock."""
    return {**(row or {}), "stock": units}
