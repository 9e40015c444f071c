"""One decision's features read from the worker's hot copy (``featurestore.hot.FeatureCache``) as a snapshot with
the contract's defaults for unknown entities: ``kairos bench features`` times it against Feast's SDK read.

The decision stage itself reads the copy directly (product rows by id; user and session rows come with the
trigger), so this reader serves only the comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from featurestore.hot import FeatureCache
from schemas.features import FEATURE_VERSION, PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES, FeatureSpec

__all__ = ["FeatureSnapshot", "HotFeatureReader", "default_row"]

Row = Mapping[str, Any]

_DEFAULTS: dict[str, Any] = {"int64": 0, "float64": 0.0, "bool": False, "string": "", "string_list": ()}


def default_row(specs: Iterable[FeatureSpec]) -> Row:
    """The row of an entity nothing is known about.

    >>> dict(default_row(SESSION_FEATURES[:2]))
    {'events_so_far': 0, 'dwell_s': 0.0}
    """
    return MappingProxyType(
        {spec.name: _DEFAULTS[spec.dtype] if spec.unknown is None else spec.unknown for spec in specs}
    )


@dataclass(frozen=True, slots=True)
class FeatureSnapshot:
    """One decision's features: the user, the session and each candidate product, in candidate order."""

    user: Row
    session: Row
    products: tuple[Row, ...]
    feature_version: str = FEATURE_VERSION


class HotFeatureReader:
    """Snapshots over a :class:`~featurestore.hot.FeatureCache`: dictionary lookups, no I/O."""

    __slots__ = ("_cache", "_product_default", "_session_default", "_user_default")

    def __init__(self, cache: FeatureCache) -> None:
        self._cache = cache
        self._user_default = default_row(USER_FEATURES)
        self._session_default = default_row(SESSION_FEATURES)
        self._product_default = default_row(PRODUCT_FEATURES)

    def read(self, user_key: str, session_id: str, product_ids: Sequence[str]) -> FeatureSnapshot:
        """Features of ``user_key``'s session ``session_id`` and of the candidate products (defaults if unknown)."""
        cache = self._cache
        products = cache.products
        default = self._product_default
        return FeatureSnapshot(
            user=cache.users.get(user_key, self._user_default),
            session=cache.sessions.get(session_id, self._session_default),
            products=tuple(products.get(pid, default) for pid in product_ids),
        )
