"""Concept drift: at one sim time, shoppers' category preferences and the catalogue's prices shift (seeded)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from simulator.catalogue import Catalogue, CatalogueArrays, Product
from simulator.errors import SimulatorConfigError
from simulator.shopper import ShopperTraits

__all__ = ["DriftConfig", "DriftRecord", "draw_drift", "reprice", "shift_preferences"]

_DIRICHLET_ALPHA = 0.4  # as the population's preferences (shopper.make_population)


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """One shift of the world in the middle of a run.

    At sim time ``at_s`` every shopper's category preferences become ``(1 - preference_mix) old + preference_mix
    fresh`` (``fresh`` a new Dirichlet(0.4) draw, as the population's), and every category's prices are multiplied by
    one factor ``exp(price_shift + price_sigma z)``, ``z ~ N(0, 1)`` per category. Both draws come from the run seed.

    Attributes:
        at_s: sim seconds at which the shift happens (sessions in progress see it from then on).
        preference_mix: weight of the fresh preferences, in [0, 1] (0 keeps tastes).
        price_sigma: log-scale spread of the per-category price factors (0: every category moves alike).
        price_shift: log-scale mean of the price factors (0.1: prices ~10% up on average).

    Raises:
        SimulatorConfigError: a negative time or sigma, a mix outside [0, 1].
    """

    at_s: float
    preference_mix: float = 0.8
    price_sigma: float = 0.3
    price_shift: float = 0.0

    def __post_init__(self) -> None:
        if not self.at_s >= 0 or not 0.0 <= self.preference_mix <= 1.0 or not self.price_sigma >= 0:
            raise SimulatorConfigError(f"bad drift: {self.at_s=} {self.preference_mix=} {self.price_sigma=}")
        if not math.isfinite(self.price_shift):
            raise SimulatorConfigError(f"price_shift must be finite, got {self.price_shift}")


@dataclass(frozen=True, slots=True)
class DriftRecord:
    """What one drift changed: when, each category's price factor, the mean L1 change of preferences."""

    at_s: float
    price_factors: dict[str, float]
    preference_l1: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "at_s": self.at_s,
            "price_factors": {k: round(v, 6) for k, v in self.price_factors.items()},
            "preference_l1": round(self.preference_l1, 6),
        }


def draw_drift(
    config: DriftConfig, rng: np.random.Generator, categories: tuple[str, ...], shoppers: int
) -> tuple[dict[str, float], np.ndarray[Any, np.dtype[np.float64]]]:
    """The random part of a drift: per-category price factors and fresh preferences ``[shoppers, categories]``.

    >>> factors, fresh = draw_drift(DriftConfig(at_s=0, price_sigma=0.0), np.random.default_rng(1), ("a", "b"), 3)
    >>> factors, fresh.shape, bool(np.allclose(fresh.sum(axis=1), 1.0))
    ({'a': 1.0, 'b': 1.0}, (3, 2), True)
    """
    z = rng.standard_normal(len(categories))
    shift, sigma = config.price_shift, config.price_sigma
    factors = {c: float(math.exp(shift + sigma * zi)) for c, zi in zip(categories, z, strict=True)}
    gammas = rng.gamma(_DIRICHLET_ALPHA, 1.0, size=(shoppers, len(categories))) + 1e-9
    return factors, gammas / gammas.sum(axis=1, keepdims=True)


def shift_preferences(traits: ShopperTraits, fresh: tuple[float, ...], mix: float) -> ShopperTraits:
    """The traits with preferences ``(1 - mix) old + mix fresh`` (derived summaries recomputed).

    >>> from simulator.shopper import make_population
    >>> t = make_population(np.random.default_rng(0), 1, 2, "x")[0]
    >>> shift_preferences(t, (1.0, 0.0), 1.0).category_prefs
    (1.0, 0.0)
    """
    prefs = tuple((1.0 - mix) * old + mix * new for old, new in zip(traits.category_prefs, fresh, strict=True))
    return replace(traits, category_prefs=prefs)


def reprice(catalogue: Catalogue, factors: dict[str, float]) -> Catalogue:
    """The catalogue with every product's price multiplied by its category's factor (ids, stock, popularity kept).

    >>> import random
    >>> cat = Catalogue.build(random.Random(7), size=8, n_categories=2)
    >>> new = reprice(cat, {"electronics": 2.0, "fashion": 1.0})
    >>> p = cat.products[0]
    >>> new.by_id[p.product_id].price == round(p.price * (2.0 if p.category == "electronics" else 1.0), 2)
    True
    """

    def moved(p: Product) -> Product:
        return replace(p, price=round(max(0.5, p.price * factors.get(p.category, 1.0)), 2))

    products = tuple(moved(p) for p in catalogue.products)
    by_id = {p.product_id: p for p in products}
    by_category = {c: tuple(by_id[p.product_id] for p in items) for c, items in catalogue.by_category.items()}
    ranked = {c: tuple(by_id[p.product_id] for p in items) for c, items in catalogue._ranked.items()}
    medians = {c: round(m * factors.get(c, 1.0), 2) for c, m in catalogue.median_price.items()}
    old = catalogue.arrays
    arrays = CatalogueArrays(
        price=np.array([p.price for p in products]),
        popularity=old.popularity,
        in_stock=old.in_stock,
        category=old.category,
    )
    return replace(
        catalogue,
        products=products,
        by_id=by_id,
        by_category=by_category,
        _ranked=ranked,
        medians=tuple(medians[c] for c in catalogue.categories),
        median_price=medians,
        arrays=arrays,
    )
