"""Feature rows to River inputs: contract names only, protected ones dropped, strings one-hot, numbers log-scaled."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from schemas.features import SESSION_FEATURES, USER_FEATURES, FeatureSpec

__all__ = [
    "SEGMENT_INPUTS",
    "SESSION_INPUTS",
    "USER_INPUTS",
    "FeatureRow",
    "dense_vector",
    "signed_log1p",
    "to_vector",
]

FeatureRow = Mapping[str, object]
"""A feature row as read from the store: contract names to int/float/bool/str values (unknown keys ignored)."""

_MODEL_DTYPES: Final = frozenset({"int64", "float64", "bool", "string"})

SESSION_INPUTS: Final[tuple[FeatureSpec, ...]] = tuple(
    s for s in SESSION_FEATURES if not s.protected and s.dtype in _MODEL_DTYPES
)
"""Session features a model may read: every non-protected scalar one of ``SESSION_FEATURES``."""

USER_INPUTS: Final[tuple[FeatureSpec, ...]] = tuple(
    s for s in USER_FEATURES if not s.protected and s.dtype in _MODEL_DTYPES
)
"""User features a model may read: every non-protected scalar one of ``USER_FEATURES``."""

_SEGMENT_NAMES: Final = (
    "frequency",
    "recency_days",
    "t_days",
    "monetary",
    "purchase_count",
    "average_order_value",
    "category_affinity",
    "discount_responsiveness",
)
SEGMENT_INPUTS: Final[tuple[FeatureSpec, ...]] = tuple(s for s in USER_INPUTS if s.name in _SEGMENT_NAMES)
"""The numeric user features segments are clustered on (value and engagement, no intervention counters)."""


def signed_log1p(value: float) -> float:
    """Compress a heavy-tailed value while keeping its sign (order values, dwell times, counts).

    >>> signed_log1p(0.0), round(signed_log1p(math.e - 1), 6), round(signed_log1p(-(math.e - 1)), 6)
    (0.0, 1.0, -1.0)
    """
    return math.copysign(math.log1p(abs(value)), value)


def to_vector(row: FeatureRow | None, specs: tuple[FeatureSpec, ...]) -> dict[str, float]:
    """A sparse River input from one feature row; the row is not modified.

    Numbers go through :func:`signed_log1p`, booleans become 0/1, a non-empty string ``v`` of feature ``f``
    becomes the one-hot key ``"f=v"``. Missing, ``None`` and non-finite values are left out (River models treat an
    absent key as zero / unknown). Keys come in ``specs`` order.

    Args:
        row: the feature row, or ``None`` when the entity has none yet.
        specs: the features to read, e.g. :data:`SESSION_INPUTS`.

    Returns:
        A new dict of float inputs.

    >>> x = to_vector({"cart_size": 2, "checkout_started": True, "last_intent": "price", "x": 1}, SESSION_INPUTS)
    >>> {k: round(v, 4) for k, v in x.items()}
    {'cart_size': 1.0986, 'last_intent=price': 1.0, 'checkout_started': 1.0}
    """
    x: dict[str, float] = {}
    if row is None:
        return x
    get, log1p, copysign, isfinite = row.get, math.log1p, math.copysign, math.isfinite
    for name, is_string in _plan(specs):
        value = get(name)
        if value is None:
            continue
        if is_string:
            if isinstance(value, str) and value:
                x[f"{name}={value}"] = 1.0
        elif value is True or value is False:
            x[name] = 1.0 if value else 0.0
        elif isinstance(value, int | float) and isfinite(value):
            number = float(value)
            x[name] = copysign(log1p(abs(number)), number)  # signed_log1p, inlined
    return x


_PLANS: dict[int, tuple[tuple[FeatureSpec, ...], tuple[tuple[str, bool], ...]]] = {}


def _plan(specs: tuple[FeatureSpec, ...]) -> tuple[tuple[str, bool], ...]:
    """``(name, is_string)`` per spec, remembered per specs tuple (kept, so its id is not reused)."""
    hit = _PLANS.get(id(specs))
    if hit is not None and hit[0] is specs:
        return hit[1]
    plan = tuple((spec.name, spec.dtype == "string") for spec in specs)
    if len(_PLANS) >= 64:  # spec tuples are module constants: a handful; never grow without bound
        _PLANS.clear()
    _PLANS[id(specs)] = (specs, plan)
    return plan


def dense_vector(row: FeatureRow | None, specs: tuple[FeatureSpec, ...]) -> dict[str, float]:
    """Like :func:`to_vector` for numeric features, but every spec gets a key (0.0 when missing).

    A fixed key set keeps distance-based learners (k-means) from inventing coordinates mid-stream.

    >>> round(dense_vector({"frequency": 3}, SEGMENT_INPUTS)["frequency"], 4)
    1.3863
    >>> dense_vector(None, SEGMENT_INPUTS)["t_days"]
    0.0
    """
    sparse = to_vector(row, specs)
    return {spec.name: sparse.get(spec.name, 0.0) for spec in specs}
