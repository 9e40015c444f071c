"""Where decision contexts wait for their rewards: in memory (small or short-lived deployments, tests) or in a SQLite
file (production: hours of contexts at any rate, kept across restarts).

A context waits for its decision's learning reward, which comes hours later (the attribution's ``early`` reward,
3 h with the defaults). At a few hundred decisions a second that is millions of contexts: more than a process
should hold in memory, and everything a restart would have to re-read. :class:`SqliteContexts` keeps them on disk
with the contexts topic's next offsets, committed together, so a restarted learner resumes the topic where the
file ends instead of from the beginning. Both stores expire by event time (the join's watermark minus its ttl).
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

import msgspec

from schemas.contexts import DecisionContext
from serving.learning.errors import LearningConfigError

__all__ = ["ContextStore", "MemoryContexts", "SqliteContexts"]

_EXPIRE_EVERY_S: Final = 60.0
""":class:`SqliteContexts` deletes expired rows at most once per this much event time (one indexed range delete)."""


class ContextStore(Protocol):
    """Decision contexts by decision id, with event-time expiry and a durable point."""

    def __len__(self) -> int:
        """Contexts held."""
        ...

    def __contains__(self, decision_id: object) -> bool:
        """Whether a context of ``decision_id`` is held."""
        ...

    def put(self, context: DecisionContext) -> int:
        """Hold ``context`` (its id is not held); returns how many of the oldest were evicted for room."""
        ...

    def take(self, decision_id: str) -> DecisionContext | None:
        """The context of ``decision_id`` for a join, or ``None``. A durable store keeps it until it expires, so
        that rewards re-read after a restart join again; a memory store lets it go."""
        ...

    def expire(self, before_s: float) -> int:
        """Drop contexts older than ``before_s`` (event time); returns how many (may be checked lazily)."""
        ...

    def commit(self, positions: Mapping[tuple[str, int], int]) -> None:
        """Make what was put so far durable, with the next offsets of the contexts read (a no-op in memory)."""
        ...

    def positions(self) -> dict[tuple[str, int], int]:
        """The next offsets committed with the contexts (empty in memory: read the topic from the beginning)."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


class MemoryContexts:
    """Contexts in an insertion-ordered dict, at most ``capacity`` (the oldest evicted first).

    >>> from datetime import UTC, datetime
    >>> store = MemoryContexts(capacity=1)
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ctx = DecisionContext(decision_id="d-1", key="u-1", event_time=t, schema_version=1, session_id="s-1",
    ...     policy_name="p", policy_version="p-u0", policy_source="triton", state=[0.0], candidates=[[1.0]],
    ...     mask=[True], chosen=0, propensity=1.0)
    >>> store.put(ctx), "d-1" in store, store.take("d-1") is ctx, len(store)
    (0, True, True, 0)
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise LearningConfigError(f"a context store needs a positive capacity, got {capacity}")
        self.capacity = capacity
        self._contexts: OrderedDict[str, DecisionContext] = OrderedDict()

    def __len__(self) -> int:
        return len(self._contexts)

    def __contains__(self, decision_id: object) -> bool:
        return decision_id in self._contexts

    def put(self, context: DecisionContext) -> int:
        self._contexts[context.decision_id] = context
        if len(self._contexts) <= self.capacity:
            return 0
        self._contexts.popitem(last=False)
        return 1

    def take(self, decision_id: str) -> DecisionContext | None:
        return self._contexts.pop(decision_id, None)

    def expire(self, before_s: float) -> int:
        """Drop the oldest contexts (by arrival) until one is not older than ``before_s``."""
        contexts, dropped = self._contexts, 0
        while contexts:
            first = next(iter(contexts.values()))
            if first.event_time.timestamp() >= before_s:
                break
            contexts.popitem(last=False)
            dropped += 1
        return dropped

    def commit(self, positions: Mapping[tuple[str, int], int]) -> None:
        return None

    def positions(self) -> dict[tuple[str, int], int]:
        return {}

    def close(self) -> None:
        self._contexts.clear()


class SqliteContexts:
    """Contexts in a SQLite file (MessagePack bodies, an index on event time), at most ``capacity`` rows.

    Writes go into one open transaction that :meth:`commit` closes with the topic positions, so the file and the
    positions always agree: after a crash the learner re-reads the contexts after the committed positions.

    Args:
        path: the database file (its folder is created).
        capacity: most contexts held; beyond it the oldest (by event time) are deleted.

    Raises:
        LearningConfigError: a non-positive capacity.
    """

    def __init__(self, path: Path, *, capacity: int = 20_000_000) -> None:
        if capacity < 1:
            raise LearningConfigError(f"a context store needs a positive capacity, got {capacity}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.capacity = capacity
        self._db = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS contexts"
            " (decision_id TEXT PRIMARY KEY, time_s REAL NOT NULL, body BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS contexts_time ON contexts (time_s)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS positions (topic TEXT, part INTEGER, next_offset INTEGER,"
            " PRIMARY KEY (topic, part))"
        )
        self._db.commit()
        self._count: int = self._db.execute("SELECT COUNT(*) FROM contexts").fetchone()[0]
        self._expired_to = float("-inf")
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(DecisionContext).decode

    def __len__(self) -> int:
        return self._count

    def __contains__(self, decision_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM contexts WHERE decision_id = ?", (decision_id,)).fetchone()
        return row is not None

    def put(self, context: DecisionContext) -> int:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO contexts VALUES (?, ?, ?)",
            (context.decision_id, context.event_time.timestamp(), self._encode(context)),
        )
        self._count += cursor.rowcount
        if self._count <= self.capacity:
            return 0
        evicted = self._db.execute(
            "DELETE FROM contexts WHERE decision_id IN (SELECT decision_id FROM contexts ORDER BY time_s LIMIT ?)",
            (self._count - self.capacity,),
        ).rowcount
        self._count -= evicted
        return evicted

    def take(self, decision_id: str) -> DecisionContext | None:
        row = self._db.execute("SELECT body FROM contexts WHERE decision_id = ?", (decision_id,)).fetchone()
        return None if row is None else self._decode(row[0])

    def expire(self, before_s: float) -> int:
        """Delete contexts older than ``before_s``, at most once per minute of event time."""
        if before_s - self._expired_to < _EXPIRE_EVERY_S:
            return 0
        self._expired_to = before_s
        dropped = self._db.execute("DELETE FROM contexts WHERE time_s < ?", (before_s,)).rowcount
        self._count -= dropped
        return dropped

    def commit(self, positions: Mapping[tuple[str, int], int]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
            [(topic, part, offset) for (topic, part), offset in positions.items()],
        )
        self._db.commit()

    def positions(self) -> dict[tuple[str, int], int]:
        rows = self._db.execute("SELECT topic, part, next_offset FROM positions").fetchall()
        return {(str(topic), int(part)): int(offset) for topic, part, offset in rows}

    def close(self) -> None:
        self._db.commit()
        self._db.close()
