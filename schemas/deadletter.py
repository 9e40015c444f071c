"""Dead letters: the original record bytes and key, with why and where it failed carried in Kafka headers.

The dead-letter record's value and key are the source record's, byte for byte, so a re-drive sends exactly
what arrived — unless the record is larger than the dead-letter topic takes: then :func:`fit_dead_letter` keeps a
prefix and records the original size and sha256 digest in headers (the source coordinates are always there), so
nothing is lost silently. The metadata travels in headers prefixed ``kairos.dlq.`` (the Kafka Connect convention),
values UTF-8 text, integers in decimal. :func:`dead_letter_headers` and :func:`dead_letter_from_record` are inverses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Annotated, Final, TypeAlias

import msgspec
from msgspec import Meta, Struct

from schemas.errors import DeadLetterReason, PoisonMessageError

__all__ = [
    "HEADER_PREFIX",
    "DeadLetter",
    "RecordHeaders",
    "dead_letter_for",
    "dead_letter_from_record",
    "dead_letter_headers",
    "dead_letter_size",
    "fit_dead_letter",
]

HEADER_PREFIX: Final = "kairos.dlq."

_REASON: Final = HEADER_PREFIX + "reason"
_DETAIL: Final = HEADER_PREFIX + "detail"
_FIELD: Final = HEADER_PREFIX + "field"
_STAGE: Final = HEADER_PREFIX + "stage"
_ERROR_TYPE: Final = HEADER_PREFIX + "error_type"
_SOURCE_TOPIC: Final = HEADER_PREFIX + "source_topic"
_SOURCE_PARTITION: Final = HEADER_PREFIX + "source_partition"
_SOURCE_OFFSET: Final = HEADER_PREFIX + "source_offset"
_SOURCE_TIMESTAMP_MS: Final = HEADER_PREFIX + "source_timestamp_ms"
_DEAD_LETTERED_AT_MS: Final = HEADER_PREFIX + "dead_lettered_at_ms"
_ORIGINAL_SIZE: Final = HEADER_PREFIX + "original_size"
_ORIGINAL_SHA256: Final = HEADER_PREFIX + "original_sha256"
_ORIGINAL_KEY_SIZE: Final = HEADER_PREFIX + "original_key_size"
_ORIGINAL_KEY_SHA256: Final = HEADER_PREFIX + "original_key_sha256"

#: The longest ``detail`` or ``field`` header kept (an error message quoting a hostile input stays bounded).
MAX_TEXT_CHARS: Final = 1024
#: Bytes a record costs beyond its value, key and header bytes (record framing, varints), rounded up.
_RECORD_OVERHEAD: Final = 128

NonNegative: TypeAlias = Annotated[int, Meta(ge=0)]
HeaderValue: TypeAlias = bytes | str | None
RecordHeaders: TypeAlias = Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]
"""Kafka record headers as clients hand them over: pairs (aiokafka, confluent-kafka) or a mapping (faust)."""


class DeadLetter(Struct, frozen=True, kw_only=True):
    """A record that could not be processed, with everything needed to understand and re-drive it.

    ``reason`` is a :class:`~schemas.errors.DeadLetterReason` value or a stage-specific reason string;
    ``raw`` and ``key`` are the source record's value and key, unchanged (``b""`` for a null value) — or, when
    ``original_size`` (``original_key_size``) is set, a prefix of it, with the whole one's sha256 in
    ``original_sha256`` (``original_key_sha256``).
    """

    reason: str
    detail: str
    stage: str
    error_type: str
    source_topic: str
    source_partition: NonNegative
    source_offset: NonNegative
    dead_lettered_at_ms: NonNegative
    raw: bytes
    field: str | None = None
    source_timestamp_ms: NonNegative | None = None
    key: bytes | None = None
    original_size: NonNegative | None = None
    original_sha256: str | None = None
    original_key_size: NonNegative | None = None
    original_key_sha256: str | None = None

    @property
    def truncated(self) -> bool:
        """Whether ``raw`` or ``key`` is only a prefix of the source record's (it cannot be re-driven as is)."""
        return self.original_size is not None or self.original_key_size is not None


def dead_letter_for(
    error: BaseException,
    *,
    raw: bytes | None,
    key: bytes | None,
    stage: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    source_timestamp_ms: int | None,
    dead_lettered_at_ms: int,
) -> DeadLetter:
    """Build the dead letter for ``error``, raised while processing the record at the given coordinates.

    A :class:`~schemas.errors.PoisonMessageError` contributes its reason, detail and field; any other error
    is recorded under its class name with ``str(error)`` as the detail.

    Args:
        error: what went wrong.
        raw: the source record value (``None`` for a null value).
        key: the source record key.
        stage: where it failed, e.g. ``"ingest"``.
        source_topic: the source record's topic.
        source_partition: its partition.
        source_offset: its offset.
        source_timestamp_ms: its timestamp, when known.
        dead_lettered_at_ms: now, as the caller's clock reads it.

    Returns:
        The dead letter; send ``raw`` and ``key`` with :func:`dead_letter_headers`.

    >>> from schemas.errors import DeadLetterReason, PoisonMessageError
    >>> dl = dead_letter_for(PoisonMessageError(DeadLetterReason.OVERSIZE, "too big"), raw=b"{}", key=None,
    ...     stage="ingest", source_topic="kairos.events.v1", source_partition=0, source_offset=7,
    ...     source_timestamp_ms=None, dead_lettered_at_ms=1)
    >>> dl.reason, dl.error_type
    ('oversize', 'PoisonMessageError')
    """
    if isinstance(error, PoisonMessageError):
        reason, detail, field = error.reason.value, error.detail, error.field
    else:
        reason, detail, field = type(error).__name__, str(error), None
    return DeadLetter(
        reason=reason,
        detail=detail,
        field=field,
        stage=stage,
        error_type=type(error).__name__,
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        source_timestamp_ms=source_timestamp_ms,
        dead_lettered_at_ms=dead_lettered_at_ms,
        raw=b"" if raw is None else raw,
        key=key,
    )


def dead_letter_headers(dl: DeadLetter) -> list[tuple[str, bytes]]:
    """The Kafka headers that carry ``dl``'s metadata; the record value is ``dl.raw`` and the key ``dl.key``.

    Optional fields that are ``None`` are left out.

    Args:
        dl: the dead letter.

    Returns:
        ``(name, value)`` pairs, names prefixed ``kairos.dlq.``.

    >>> dl = DeadLetter(reason="oversize", detail="too big", stage="ingest", error_type="PoisonMessageError",
    ...                 source_topic="kairos.events.v1", source_partition=3, source_offset=42,
    ...                 dead_lettered_at_ms=1, raw=b"{}")
    >>> dict(dead_letter_headers(dl))["kairos.dlq.source_offset"]
    b'42'
    """
    headers = [
        (_REASON, dl.reason.encode()),
        (_DETAIL, dl.detail.encode()),
        (_STAGE, dl.stage.encode()),
        (_ERROR_TYPE, dl.error_type.encode()),
        (_SOURCE_TOPIC, dl.source_topic.encode()),
        (_SOURCE_PARTITION, b"%d" % dl.source_partition),
        (_SOURCE_OFFSET, b"%d" % dl.source_offset),
        (_DEAD_LETTERED_AT_MS, b"%d" % dl.dead_lettered_at_ms),
    ]
    if dl.field is not None:
        headers.append((_FIELD, dl.field.encode()))
    if dl.source_timestamp_ms is not None:
        headers.append((_SOURCE_TIMESTAMP_MS, b"%d" % dl.source_timestamp_ms))
    if dl.original_size is not None:
        headers.append((_ORIGINAL_SIZE, b"%d" % dl.original_size))
    if dl.original_sha256 is not None:
        headers.append((_ORIGINAL_SHA256, dl.original_sha256.encode()))
    if dl.original_key_size is not None:
        headers.append((_ORIGINAL_KEY_SIZE, b"%d" % dl.original_key_size))
    if dl.original_key_sha256 is not None:
        headers.append((_ORIGINAL_KEY_SHA256, dl.original_key_sha256.encode()))
    return headers


def dead_letter_size(dl: DeadLetter) -> int:
    """An upper bound of the bytes the dead-letter record of ``dl`` occupies (value, key, headers, framing).

    >>> dl = DeadLetter(reason="oversize", detail="too big", stage="ingest", error_type="PoisonMessageError",
    ...                 source_topic="kairos.events.raw.v1", source_partition=0, source_offset=1,
    ...                 dead_lettered_at_ms=1, raw=b"x" * 1000)
    >>> 1000 < dead_letter_size(dl) < 1500
    True
    """
    headers = sum(len(name) + len(value) + 8 for name, value in dead_letter_headers(dl))
    return len(dl.raw) + len(dl.key or b"") + headers + _RECORD_OVERHEAD


def fit_dead_letter(dl: DeadLetter, max_bytes: int, keep_bytes: int) -> DeadLetter:
    """``dl`` as a record of at most ``max_bytes``: unchanged when it fits, else with ``raw`` (and a key longer than
    ``keep_bytes``) cut to ``keep_bytes``, the original sizes and sha256 digests recorded. ``detail`` and ``field``
    are always cut to :data:`MAX_TEXT_CHARS`. Pure: the same letter always fits the same way.

    Args:
        dl: the dead letter, with the source record's whole value and key.
        max_bytes: the largest record the dead-letter topic takes (:func:`dead_letter_size`).
        keep_bytes: how much of an oversize value or key to keep (0: headers only — a reference to the source).

    Returns:
        The letter to send; ``truncated`` says whether it is cut.

    >>> dl = DeadLetter(reason="oversize", detail="too big", stage="ingest", error_type="PoisonMessageError",
    ...                 source_topic="kairos.events.raw.v1", source_partition=0, source_offset=1,
    ...                 dead_lettered_at_ms=1, raw=b"x" * 10_000, key=b"u1")
    >>> fit_dead_letter(dl, 20_000, 100) == dl
    True
    >>> cut = fit_dead_letter(dl, 5_000, 100)
    >>> len(cut.raw), cut.original_size, cut.original_sha256[:12], cut.key, cut.truncated
    (100, 10000, 'e4ee97ec2527', b'u1', True)
    """
    bounded = dl
    if len(dl.detail) > MAX_TEXT_CHARS or (dl.field is not None and len(dl.field) > MAX_TEXT_CHARS):
        bounded = msgspec.structs.replace(
            dl,
            detail=_cut(dl.detail),
            field=None if dl.field is None else _cut(dl.field),
        )
    if dead_letter_size(bounded) <= max_bytes:
        return bounded
    changes: dict[str, object] = {}
    if len(bounded.raw) > keep_bytes:
        changes.update(
            raw=bounded.raw[:keep_bytes],
            original_size=len(bounded.raw),
            original_sha256=hashlib.sha256(bounded.raw).hexdigest(),
        )
    key = bounded.key
    if key is not None and len(key) > keep_bytes:
        changes.update(
            key=key[:keep_bytes], original_key_size=len(key), original_key_sha256=hashlib.sha256(key).hexdigest()
        )
    return msgspec.structs.replace(bounded, **changes)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def dead_letter_from_record(key: bytes | None, value: bytes | None, headers: RecordHeaders | None) -> DeadLetter:
    """Rebuild a :class:`DeadLetter` from a dead-letter record (the inverse of :func:`dead_letter_headers`).

    Headers outside the ``kairos.dlq.`` prefix are ignored; a repeated header keeps its last value.

    Args:
        key: the record key (the source record's key).
        value: the record value (the source record's value); ``None`` becomes ``b""``.
        headers: the record headers, as pairs (aiokafka, confluent-kafka) or a mapping (faust).

    Returns:
        The dead letter.

    Raises:
        PoisonMessageError: ``MISSING_FIELD`` when a required header is absent, ``WRONG_TYPE`` when a number
            header is not a decimal integer; ``field`` names the header.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    meta = {name: _text(data) for name, data in pairs if name.startswith(HEADER_PREFIX)}
    timestamp = meta.get(_SOURCE_TIMESTAMP_MS)
    size, key_size = meta.get(_ORIGINAL_SIZE), meta.get(_ORIGINAL_KEY_SIZE)
    return DeadLetter(
        reason=_required(meta, _REASON),
        detail=_required(meta, _DETAIL),
        field=meta.get(_FIELD),
        stage=_required(meta, _STAGE),
        error_type=_required(meta, _ERROR_TYPE),
        source_topic=_required(meta, _SOURCE_TOPIC),
        source_partition=_integer(_SOURCE_PARTITION, _required(meta, _SOURCE_PARTITION)),
        source_offset=_integer(_SOURCE_OFFSET, _required(meta, _SOURCE_OFFSET)),
        source_timestamp_ms=None if timestamp is None else _integer(_SOURCE_TIMESTAMP_MS, timestamp),
        dead_lettered_at_ms=_integer(_DEAD_LETTERED_AT_MS, _required(meta, _DEAD_LETTERED_AT_MS)),
        raw=b"" if value is None else value,
        key=key,
        original_size=None if size is None else _integer(_ORIGINAL_SIZE, size),
        original_sha256=meta.get(_ORIGINAL_SHA256),
        original_key_size=None if key_size is None else _integer(_ORIGINAL_KEY_SIZE, key_size),
        original_key_sha256=meta.get(_ORIGINAL_KEY_SHA256),
    )


def _text(data: HeaderValue) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def _required(meta: Mapping[str, str], name: str) -> str:
    try:
        return meta[name]
    except KeyError:
        raise PoisonMessageError(
            DeadLetterReason.MISSING_FIELD, f"dead-letter header {name} is missing", name
        ) from None


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise PoisonMessageError(
            DeadLetterReason.WRONG_TYPE, f"dead-letter header {name} is not an integer: {text!r}", name
        ) from None
