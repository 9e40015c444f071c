"""Bytes to models and back: typed msgspec decoders that fail with one named reason, and orjson encoding.

Decoding failures always surface as :class:`~schemas.errors.PoisonMessageError` with exactly one
:class:`~schemas.errors.DeadLetterReason`, chosen in this order of precedence::

    OVERSIZE > MALFORMED_JSON > NOT_AN_OBJECT > UNSUPPORTED_SCHEMA_VERSION > UNKNOWN_EVENT_TYPE
      > MISSING_FIELD | WRONG_TYPE | INVALID_VALUE (the first one met) > MISSING_IDENTITY

The success path is one length check, one ASCII check and one msgspec call; the classification work only
runs for bad records.
"""

from __future__ import annotations

import re
from typing import Any, Final, Generic, TypeVar, cast

import msgspec
import orjson

from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.events import Event
from schemas.fields import CURRENT_SCHEMA_VERSION

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EventDecoder",
    "StructDecoder",
    "decode_as",
    "decode_json",
    "encode",
    "poison_from_validation_error",
]

DEFAULT_MAX_BYTES: Final = 64 * 1024
"""Largest record the decoders accept, in bytes; larger ones are ``OVERSIZE``."""

T = TypeVar("T")

_AT: Final = " - at `"
_MISSING_FIELD = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_WRONG_TYPE = re.compile(r"Expected `[^`]+`, got `[^`]+`")


class StructDecoder(Generic[T]):
    """Decode UTF-8 JSON into one model type, raising :class:`PoisonMessageError` on any bad input.

    Args:
        type_: the msgspec struct to decode into, e.g. :class:`schemas.Decision`.
        max_bytes: records longer than this are rejected as ``OVERSIZE`` before parsing.

    >>> from schemas.decisions import FeatureContribution
    >>> StructDecoder(FeatureContribution).decode(b'{"name": "recency", "value": 2, "contribution": 0.5}')
    FeatureContribution(name='recency', value=2.0, contribution=0.5)
    """

    __slots__ = ("_decode", "_max_bytes", "_tag_field", "_versioned")

    def __init__(self, type_: type[T], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._setup(type_, max_bytes, tag_field=None)

    def _setup(self, type_: Any, max_bytes: int, tag_field: str | None) -> None:
        decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)
        self._decode = decoder.decode
        self._max_bytes = max_bytes
        self._tag_field = tag_field
        self._versioned = _has_schema_version(type_)

    def decode(self, raw: bytes) -> T:
        """Decode and validate one record.

        Args:
            raw: the record value, UTF-8 JSON.

        Returns:
            The validated model.

        Raises:
            PoisonMessageError: the record can never be decoded; ``reason`` names why, ``field`` where.
        """
        if len(raw) > self._max_bytes:
            detail = f"record is {len(raw)} bytes, over the {self._max_bytes}-byte limit"
            raise PoisonMessageError(DeadLetterReason.OVERSIZE, detail)
        try:
            if not raw.isascii():
                raw.decode()  # msgspec skips unknown fields without checking their UTF-8
            return self._decode(raw)
        except msgspec.ValidationError as exc:
            try:
                error = self._classify(exc, raw)
            except RecursionError:
                error = _too_deep()
            raise error from exc
        except msgspec.DecodeError as exc:
            raise PoisonMessageError(DeadLetterReason.MALFORMED_JSON, str(exc)) from exc
        except RecursionError as exc:  # deep nesting (~1,000 levels fit in 2 KB): a poison pill, not a bug
            raise _too_deep() from exc
        except UnicodeDecodeError as exc:
            raise PoisonMessageError(
                DeadLetterReason.MALFORMED_JSON, f"not valid UTF-8: {exc.reason} at byte {exc.start}"
            ) from exc

    def _classify(self, exc: msgspec.ValidationError, raw: bytes) -> PoisonMessageError:
        # msgspec validates while it parses, so a truncated document can fail on a field before the parser
        # reaches the truncation; the precedence says MALFORMED_JSON, so check well-formedness first.
        try:
            msgspec.json.decode(raw)
        except msgspec.ValidationError:
            pass  # well-formed, e.g. a number out of range: the field error below names it
        except msgspec.DecodeError as malformed:
            return PoisonMessageError(DeadLetterReason.MALFORMED_JSON, str(malformed))
        error = poison_from_validation_error(exc, tag_field=self._tag_field)
        if error.reason is DeadLetterReason.NOT_AN_OBJECT or not self._versioned:
            return error
        return _unsupported_version(raw) or error


def _too_deep() -> PoisonMessageError:
    return PoisonMessageError(
        DeadLetterReason.MALFORMED_JSON, "JSON is nested deeper than the decoder's recursion limit allows"
    )


class EventDecoder(StructDecoder[Event]):
    """The ingest edge: bytes from ``kairos.events.raw.v1`` to a validated :data:`~schemas.events.Event`.

    Args:
        max_bytes: records longer than this are rejected as ``OVERSIZE`` before parsing.
    """

    __slots__ = ()

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._setup(Event, max_bytes, tag_field="event_type")


def poison_from_validation_error(exc: msgspec.ValidationError, tag_field: str | None) -> PoisonMessageError:
    """Name the reason and JSON path of a msgspec validation error.

    Args:
        exc: the error msgspec raised.
        tag_field: the union's tag field (its errors mean ``UNKNOWN_EVENT_TYPE``); ``None`` for plain structs.

    Returns:
        The error to dead-letter with.

    >>> poison_from_validation_error(
    ...     msgspec.ValidationError("Expected `int`, got `str` - at `$.items[0].quantity`"), None
    ... ).field
    '$.items[0].quantity'
    """
    message, path = _split_path(str(exc))
    cause = exc.__cause__
    if isinstance(cause, PoisonMessageError):  # raised by a model's __post_init__
        field = cause.field
        if path is not None:
            field = path + field[1:] if field is not None else path
        return PoisonMessageError(cause.reason, cause.detail, field)
    tag_path = None if tag_field is None else f"$.{tag_field}"
    missing = _MISSING_FIELD.fullmatch(message)
    if missing is not None:
        field = f"{path or '$'}.{missing['name']}"
        if field == tag_path:
            return PoisonMessageError(DeadLetterReason.UNKNOWN_EVENT_TYPE, message, field)
        return PoisonMessageError(DeadLetterReason.MISSING_FIELD, message, field)
    if path is not None and path == tag_path:
        return PoisonMessageError(DeadLetterReason.UNKNOWN_EVENT_TYPE, message, path)
    if path is not None and path.endswith(".schema_version"):
        return PoisonMessageError(DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION, message, path)
    if _WRONG_TYPE.fullmatch(message) is not None:
        if path is None:
            return PoisonMessageError(DeadLetterReason.NOT_AN_OBJECT, message, "$")
        return PoisonMessageError(DeadLetterReason.WRONG_TYPE, message, path)
    return PoisonMessageError(DeadLetterReason.INVALID_VALUE, message, path)


def _split_path(message: str) -> tuple[str, str | None]:
    """Split msgspec's ``"<what> - at `$.path`"`` into its parts."""
    head, sep, tail = message.rpartition(_AT)
    if not sep or not tail.endswith("`"):
        return message, None
    return head, tail[:-1]


def _unsupported_version(raw: bytes) -> PoisonMessageError | None:
    """Check ``schema_version`` before any field error: a newer producer's fields differ for a reason."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or "schema_version" not in obj:
        return None
    version = obj["schema_version"]
    if type(version) is int and version == CURRENT_SCHEMA_VERSION:
        return None
    return PoisonMessageError(
        DeadLetterReason.UNSUPPORTED_SCHEMA_VERSION,
        f"schema_version {version!r} is not supported; this reader accepts {CURRENT_SCHEMA_VERSION}",
        "$.schema_version",
    )


def _has_schema_version(type_: Any) -> bool:
    info = msgspec.inspect.type_info(type_)
    members = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
    return any(
        isinstance(member, msgspec.inspect.StructType)
        and any(field.encode_name == "schema_version" for field in member.fields)
        for member in members
    )


_DECODERS: Final[dict[object, StructDecoder[Any]]] = {}


def decode_as(raw: bytes, type_: type[T]) -> T:
    """Decode ``raw`` into ``type_`` with a cached :class:`StructDecoder` (default size limit).

    Raises:
        PoisonMessageError: as :meth:`StructDecoder.decode`.

    >>> from schemas.decisions import Action, InterventionType
    >>> decode_as(b'{"type": "upsell", "product_id": "p-9"}', Action).type is InterventionType.UPSELL
    True
    """
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = StructDecoder(type_)
    return cast(T, decoder.decode(raw))


def encode(obj: msgspec.Struct) -> bytes:
    """Serialise any model of this package to UTF-8 JSON with orjson (tags included, datetimes in RFC 3339).

    Args:
        obj: an event, decision, reward, dead letter or one of their parts.

    Returns:
        The JSON bytes; ``decoder.decode(encode(obj)) == obj``.

    >>> from schemas.decisions import Action, InterventionType
    >>> encode(Action(type=InterventionType.DISCOUNT, discount_pct=10.0))
    b'{"type":"discount","product_id":null,"category":null,"discount_pct":10.0,"message":null}'
    """
    return orjson.dumps(msgspec.to_builtins(obj))


def decode_json(raw: bytes) -> Any:
    """Parse JSON without a schema (tooling, inspection of dead letters); orjson semantics.

    >>> decode_json(b'{"a": [1, 2]}')
    {'a': [1, 2]}
    """
    return orjson.loads(raw)
