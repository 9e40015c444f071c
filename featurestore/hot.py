"""The decision path's feature reads: an in-process hot copy, no Feast SDK round trip per decision.

The feature stage computes every row it writes to Feast and puts the same rows here first, so the copy is at least
as fresh as the online store. Rows are immutable mappings replaced whole (one reference assignment), so a reader
never sees half an update; the stage updates the copy before the decision stage of the same worker reads it, and
both own the same partitions (co-partitioning by user), so a decision sees every event of its user processed before
it. (``bench/hot_reader.py`` reads it as one decision's snapshot, to compare with Feast's SDK.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FeatureCache"]

Row = Mapping[str, Any]


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

    def drop_users(self, user_keys: Iterable[str]) -> None:
        """Forget erased users' rows (``kairos forget``)."""
        for key in user_keys:
            self.users.pop(key, None)

    def drop_sessions(self, session_ids: Iterable[str]) -> None:
        """Forget ended sessions (their rows stay in Feast until the view's TTL)."""
        for session_id in session_ids:
            self.sessions.pop(session_id, None)
