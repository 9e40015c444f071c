"""A seeded product catalogue: categories, log-normal prices, stock, popularity, bought-together pairs."""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_CATEGORIES", "Catalogue", "CatalogueArrays", "Product"]

DEFAULT_CATEGORIES: Final[tuple[tuple[str, float], ...]] = (
    ("electronics", 180.0),
    ("fashion", 45.0),
    ("home", 60.0),
    ("beauty", 25.0),
    ("sports", 55.0),
    ("toys", 30.0),
    ("books", 15.0),
    ("grocery", 8.0),
    ("garden", 40.0),
    ("pets", 20.0),
    ("jewelry", 120.0),
    ("automotive", 70.0),
)
"""Category names with their median price in EUR; prices are log-normal around the median."""

_PRICE_SIGMA: Final = 0.55
_OUT_OF_STOCK_RATE: Final = 0.03
_COMPLEMENTS_PER_CATEGORY: Final = 2
_ADJECTIVES: Final = (
    "classic",
    "pro",
    "eco",
    "mini",
    "deluxe",
    "smart",
    "soft",
    "compact",
    "premium",
    "basic",
)


@dataclass(frozen=True, slots=True, eq=False)
class CatalogueArrays:
    """Column view of the products (same order as ``Catalogue.products``) for vectorised expectations."""

    price: npt.NDArray[np.float64]
    popularity: npt.NDArray[np.float64]
    in_stock: npt.NDArray[np.bool_]
    category: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable item. ``popularity`` is a relative weight within its category."""

    product_id: str
    name: str
    category: str
    price: float
    stock: int
    popularity: float

    @property
    def in_stock(self) -> bool:
        """Whether the product can be added to a cart."""
        return self.stock > 0


@dataclass(frozen=True, slots=True, eq=False)
class Catalogue:
    """All products, indexed by id and category, plus complementary-category ground truth.

    Build one with :meth:`build`; the result depends only on the arguments.

    >>> cat = Catalogue.build(random.Random(7), size=48, n_categories=4)
    >>> len(cat.products), cat.categories
    (48, ('electronics', 'fashion', 'home', 'beauty'))
    >>> cat.products == Catalogue.build(random.Random(7), size=48, n_categories=4).products
    True
    """

    products: tuple[Product, ...]
    categories: tuple[str, ...]
    medians: tuple[float, ...]
    median_price: Mapping[str, float]
    category_index: Mapping[str, int]
    by_id: Mapping[str, Product]
    by_category: Mapping[str, tuple[Product, ...]]
    complement_strength: Mapping[tuple[str, str], float]
    _cum_weights: Mapping[str, tuple[float, ...]]
    _ranked: Mapping[str, tuple[Product, ...]]
    _complements: Mapping[str, tuple[str, ...]]
    arrays: CatalogueArrays

    @classmethod
    def build(cls, rng: random.Random, size: int = 500, n_categories: int = 12) -> Catalogue:
        """Draw a catalogue.

        Args:
            rng: the only source of randomness.
            size: number of products (at least one per category).
            n_categories: number of categories; beyond the 12 defaults, ``cat-13``... with random medians.

        Returns:
            The catalogue.
        """
        if n_categories < 1 or size < n_categories:
            raise ValueError(f"need 1 <= n_categories <= size, got {n_categories=} {size=}")
        named = list(DEFAULT_CATEGORIES[:n_categories])
        for i in range(len(named), n_categories):
            named.append((f"cat-{i + 1}", round(math.exp(rng.uniform(math.log(8), math.log(200))), 2)))
        categories = tuple(name for name, _ in named)
        medians = dict(named)
        # Every category gets at least one product, the rest are spread by a random share.
        shares = [rng.gammavariate(3.0, 1.0) for _ in categories]
        total = sum(shares)
        counts = [1 + int((size - n_categories) * s / total) for s in shares]
        for i in range(size - sum(counts)):
            counts[i % n_categories] += 1
        products: list[Product] = []
        by_category: dict[str, tuple[Product, ...]] = {}
        cum: dict[str, tuple[float, ...]] = {}
        serial = itertools.count(1)
        for category, count in zip(categories, counts, strict=True):
            ranks = list(range(1, count + 1))
            rng.shuffle(ranks)
            items = []
            for rank in ranks:
                n = next(serial)
                price = round(max(0.5, rng.lognormvariate(math.log(medians[category]), _PRICE_SIGMA)), 2)
                stock = 0 if rng.random() < _OUT_OF_STOCK_RATE else 1 + int(rng.expovariate(1 / 60))
                items.append(
                    Product(
                        product_id=f"p{n:05d}",
                        name=f"{rng.choice(_ADJECTIVES)} {category} item {n}",
                        category=category,
                        price=price,
                        stock=stock,
                        popularity=round(1.0 / rank**0.8, 6),
                    )
                )
            by_category[category] = tuple(items)
            cum[category] = tuple(itertools.accumulate(p.popularity for p in items))
            products.extend(items)
        strength = _complements(rng, categories)
        ranked = {
            c: tuple(sorted((p for p in items if p.in_stock), key=lambda p: (-p.popularity, p.product_id)))
            for c, items in by_category.items()
        }
        links: dict[str, tuple[str, ...]] = {}
        for c in categories:
            pairs = sorted(((s, b) for (a, b), s in strength.items() if a == c), key=lambda x: (-x[0], x[1]))
            links[c] = tuple(b for _, b in pairs)
        index = {c: i for i, c in enumerate(categories)}
        arrays = CatalogueArrays(
            price=np.array([p.price for p in products]),
            popularity=np.array([p.popularity for p in products]),
            in_stock=np.array([p.in_stock for p in products]),
            category=np.array([index[p.category] for p in products]),
        )
        return cls(
            products=tuple(products),
            categories=categories,
            medians=tuple(medians[c] for c in categories),
            median_price=medians,
            category_index=index,
            by_id={p.product_id: p for p in products},
            by_category=by_category,
            complement_strength=strength,
            _cum_weights=cum,
            _ranked=ranked,
            _complements=links,
            arrays=arrays,
        )

    def product(self, product_id: str) -> Product | None:
        """The product with this id, or ``None``."""
        return self.by_id.get(product_id)

    def complements_of(self, category: str) -> tuple[str, ...]:
        """Categories frequently bought together with ``category``, strongest first."""
        return self._complements.get(category, ())

    def complement(self, a: str, b: str) -> float:
        """Strength in [0, 1] of the frequently-bought-together relation between two categories (0: none)."""
        return self.complement_strength.get((a, b), 0.0)

    def sample(self, category: str, rng: random.Random) -> Product:
        """A product of ``category``, drawn by popularity."""
        items = self.by_category[category]
        weights = self._cum_weights[category]
        i = bisect_right(weights, rng.random() * weights[-1])
        return items[min(i, len(items) - 1)]

    def top_in(self, category: str, exclude: Sequence[str] = ()) -> tuple[Product, ...]:
        """In-stock products of ``category`` by descending popularity, minus ``exclude``."""
        ranked = self._ranked.get(category, ())
        return tuple(p for p in ranked if p.product_id not in exclude) if exclude else ranked


def _complements(rng: random.Random, categories: tuple[str, ...]) -> dict[tuple[str, str], float]:
    """Symmetric frequently-bought-together strengths: each category links to about two others."""
    strength: dict[tuple[str, str], float] = {}
    if len(categories) < 2:
        return strength
    for a in categories:
        others = [c for c in categories if c != a]
        for b in rng.sample(others, min(_COMPLEMENTS_PER_CATEGORY, len(others))):
            s = round(rng.uniform(0.35, 0.9), 3)
            strength[(a, b)] = max(s, strength.get((a, b), 0.0))
            strength[(b, a)] = strength[(a, b)]
    return strength
