"""The decision path's feature reads: an in-process hot copy, no Feast SDK round trip per decision.

The feature stage computes every row it writes to Feast and puts the same rows here first, so the copy is at least
as fresh as the online store. Rows are immutable mappings replaced whole (one reference assignment), so a reader
never sees half an update; the stage updates the copy before the decision stage of the same worker reads it, and
both own the same partitions (co-partitioning by user), so a decision sees every event of its user processed before
it. Entities with no row yet read as the contract's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from schemas.features import (
    FEATURE_VERSION,
    PRODUCT_FEATURES,
    SESSION_FEATURES,
    USER_FEATURES,
    FeatureSpec,
)

__all__ = ["FeatureCache", "FeatureReader", "FeatureSnapshot", "HotFeatureReader", "default_row"]

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


class FeatureReader(Protocol):
    """How the decision path reads features (the one seam; tests inject fakes)."""

    def read(self, user_key: str, session_id: str, product_ids: Sequence[str]) -> FeatureSnapshot:
        """Features of ``user_key``'s session ``session_id`` and of the candidate products."""
        ...


class FeatureCache:
    """Latest rows per view and entity key, written by the feature stage."""

    __slots__ = ("products", "sessions", "users")

    def __init__(self) -> None:
        self.users: dict[str, Row] = {}
        self.sessions: dict[str, Row] = {}
        self.products: dict[str, Row] = {}

    def put(self, view: str, rows: Mapping[str, Row]) -> None:
        """Replace the rows of ``view`` (``user``, ``session`` or ``product``) for the given keys."""
        target = {"user": self.users, "session": self.sessions, "product": self.products}[view]
        target.update(rows)

    def drop_sessions(self, session_ids: Iterable[str]) -> None:
        """Forget ended sessions (their rows stay in Feast until the view's TTL)."""
        for session_id in session_ids:
            self.sessions.pop(session_id, None)


class HotFeatureReader:
    """A :class:`FeatureReader` over a :class:`FeatureCache`: dictionary lookups, no I/O."""

    __slots__ = ("_cache", "_product_default", "_session_default", "_user_default")

    def __init__(self, cache: FeatureCache) -> None:
        self._cache = cache
        self._user_default = default_row(USER_FEATURES)
        self._session_default = default_row(SESSION_FEATURES)
        self._product_default = default_row(PRODUCT_FEATURES)

    def read(self, user_key: str, session_id: str, product_ids: Sequence[str]) -> FeatureSnapshot:
        """See :class:`FeatureReader`."""
        cache = self._cache
        products = cache.products
        default = self._product_default
        return FeatureSnapshot(
            user=cache.users.get(user_key, self._user_default),
            session=cache.sessions.get(session_id, self._session_default),
            products=tuple(products.get(pid, default) for pid in product_ids),
        )
