"""Pseudonymous shopper ids: a keyed hash of ``user_id`` / ``anonymous_id``, and the erasure record. Pure.

Ingest replaces both ids of every valid event with :func:`pseudonymise` before anything downstream sees them
(docs/privacy.md). The hash is deterministic per key, so one shopper keeps one id across events, partitions and
restarts (features, decisions and rewards stay joinable), and nobody without the key can compute it from an id;
no table from pseudonym to id is ever kept.

``kairos forget`` asks the stages to erase a shopper with an *erasure record* on the events topic: key the
pseudonym, value ``None`` (a tombstone), header :data:`ERASE_HEADER`, on the partition the shopper's events are on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec
from aiokafka.partitioner import murmur2

from schemas.events import Event

__all__ = [
    "ERASE_HEADER",
    "MIN_KEY_BYTES",
    "PSEUDONYM_HEX_DIGITS",
    "Pseudonymiser",
    "erased_key",
    "kafka_partition",
    "pseudonymise",
    "pseudonymise_event",
]

PSEUDONYM_HEX_DIGITS: Final = 32
"""Hex digits kept of the HMAC-SHA256 (128 bits: collisions need ~2**64 shoppers)."""

MIN_KEY_BYTES: Final = 32
"""Shortest key accepted (256 bits, the hash's own strength)."""

ERASE_HEADER: Final = "kairos.erase"
"""Header of an erasure record (value ``b"1"``)."""


class Pseudonymiser:
    """:func:`pseudonymise` and :func:`pseudonymise_event` for ingest's hot path: the keyed hash is prepared once,
    and the pseudonyms of the ids seen last are memoised in memory (a shopper sends many events in a row). The memo
    holds at most ``memo_size`` ids, is emptied when full, and is never written anywhere; the key is not in
    ``repr``.

    >>> p = Pseudonymiser(b"k" * 32, memo_size=2)
    >>> [p(i) == pseudonymise(i, b"k" * 32) for i in ("u-1", "u-2", "u-3", "u-1")], "k" * 32 in repr(p)
    ([True, True, True, True], False)
    """

    __slots__ = ("_base", "_memo", "_memo_size")

    def __init__(self, key: bytes, *, memo_size: int = 65_536) -> None:
        self._base = hmac.new(key, digestmod=hashlib.sha256)
        self._memo: dict[str, str] = {}
        self._memo_size = memo_size

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def __call__(self, identifier: str) -> str:
        """The pseudonym of ``identifier`` (see :func:`pseudonymise`)."""
        pseudonym = self._memo.get(identifier)
        if pseudonym is None:
            mac = self._base.copy()
            mac.update(identifier.encode())
            pseudonym = mac.hexdigest()[:PSEUDONYM_HEX_DIGITS]
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            self._memo[identifier] = pseudonym
        return pseudonym

    def event(self, event: Event) -> Event:
        """``event`` with its ``user_id`` and ``anonymous_id`` pseudonymised (see :func:`pseudonymise_event`)."""
        user, anonymous = event.user_id, event.anonymous_id
        return msgspec.structs.replace(
            event,
            user_id=self(user) if user is not None else None,
            anonymous_id=self(anonymous) if anonymous is not None else None,
        )


def pseudonymise(identifier: str, key: bytes) -> str:
    """The pseudonym of ``identifier``: HMAC-SHA256 under ``key``, first :data:`PSEUDONYM_HEX_DIGITS` hex digits.

    Args:
        identifier: a ``user_id`` or ``anonymous_id`` as the publisher sent it.
        key: the secret key (``privacy.key`` / ``privacy.key_file``); another key gives other pseudonyms.

    Returns:
        32 lowercase hex digits (a valid ``Id``).

    >>> k = b"k" * 32
    >>> pseudonymise("u-42", k) == pseudonymise("u-42", k), pseudonymise("u-42", k) == pseudonymise("u-43", k)
    (True, False)
    >>> pseudonymise("u-42", k), len(pseudonymise("u-42", b"x" * 32))
    ('1663d717f48f97e0eb97e8e71358be2a', 32)
    """
    return hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


def pseudonymise_event(event: Event, key: bytes) -> Event:
    """``event`` with its ``user_id`` and ``anonymous_id`` pseudonymised (absent ones stay absent).

    Every other field is kept as decoded: ``session_id``, order and decision ids, free text (chat, search,
    survey comments) and ``email_hash`` (already a keyed hash) are not identities this function knows.

    >>> from datetime import datetime, timezone
    >>> from schemas.events import PageView
    >>> e = PageView(event_id="e1", event_time=datetime(2026, 1, 1, tzinfo=timezone.utc), schema_version=1,
    ...              session_id="s1", user_id="u-42", page_type="home")
    >>> p = pseudonymise_event(e, b"k" * 32)
    >>> p.user_id == pseudonymise("u-42", b"k" * 32), p.anonymous_id, p.partition_key == p.user_id, p.session_id
    (True, None, True, 's1')
    """
    return Pseudonymiser(key).event(event)


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition a keyed record lands on with Kafka's default partitioner (murmur2: the Java client's,
    librdkafka's ``murmur2_random`` and aiokafka's): where a publisher keying by ``key`` sent it.

    >>> kafka_partition(b"u-42", 4) == kafka_partition(b"u-42", 4) < 4
    True
    """
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions


def erased_key(key: bytes | None, headers: Sequence[tuple[str, object]] | Mapping[str, object] | None) -> str | None:
    """The pseudonym an erasure record erases, or ``None`` when the record is not one (a null value alone is not
    enough: the header must say so).

    >>> erased_key(b"ab12", [("kairos.erase", b"1")]), erased_key(b"ab12", None), erased_key(None, {ERASE_HEADER: b"1"})
    ('ab12', None, None)
    """
    if key is None or not headers:
        return None
    names = headers.keys() if isinstance(headers, Mapping) else (name for name, _ in headers)
    if ERASE_HEADER in names:
        return key.decode("utf-8", "replace")
    return None
