"""Dead letters: the original record bytes and key, with why and where it failed carried in Kafka headers.

The dead-letter record's value and key are the source record's, byte for byte, so a re-drive sends exactly
what arrived. The metadata travels in headers prefixed ``kairos.dlq.`` (the Kafka Connect convention), values
UTF-8 text, integers in decimal. :func:`dead_letter_headers` and :func:`dead_letter_from_record` are inverses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Final, TypeAlias

from msgspec import Meta, Struct

from schemas.errors import DeadLetterReason, PoisonMessageError

__all__ = [
    "HEADER_PREFIX",
    "DeadLetter",
    "RecordHeaders",
    "dead_letter_for",
    "dead_letter_from_record",
    "dead_letter_headers",
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

NonNegative: TypeAlias = Annotated[int, Meta(ge=0)]
HeaderValue: TypeAlias = bytes | str | None
RecordHeaders: TypeAlias = Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]
"""Kafka record headers as clients hand them over: pairs (aiokafka, confluent-kafka) or a mapping (faust)."""


class DeadLetter(Struct, frozen=True, kw_only=True):
    """A record that could not be processed, with everything needed to understand and re-drive it.

    ``reason`` is a :class:`~schemas.errors.DeadLetterReason` value or a stage-specific reason string;
    ``raw`` and ``key`` are the source record's value and key, unchanged (``b""`` for a null value).
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
    return headers


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
