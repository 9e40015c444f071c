"""The one error taxonomy every Kairos package extends.

Three families, each with one handling rule:

* :class:`PoisonMessageError` — the input itself is bad (decode/validation). Dead-letter it at once with its
  :class:`DeadLetterReason`; never retry.
* :class:`TransientError` — a dependency is slow or down (broker, Feast, Triton). Retry with a bound and
  backoff, then fall back or dead-letter.
* anything else is a bug: log it with its traceback and do not commit the offset.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ContractViolationError",
    "DeadLetterReason",
    "KairosError",
    "PoisonMessageError",
    "TransientError",
]


class DeadLetterReason(StrEnum):
    """Why a record went to the dead-letter topic. Values are stable: dashboards and re-drives key on them."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    OVERSIZE = "oversize"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_IDENTITY = "missing_identity"
    CLOCK_SKEW_FUTURE = "clock_skew_future"
    CLOCK_SKEW_PAST = "clock_skew_past"
    LATE_EVENT = "late_event"
    UNATTRIBUTED = "unattributed"
    """An outcome or intervention feedback naming a decision that could not take it (the attribution stage)."""


class KairosError(Exception):
    """Base of every error Kairos raises on purpose."""


class PoisonMessageError(KairosError):
    """The record can never be processed: dead-letter it with ``reason``; do not retry.

    Args:
        reason: the named reason, recorded on the dead letter.
        detail: a human-readable explanation (field path, expected vs. got).
        field: the JSON path of the offending field, when there is one (``$.items[0].quantity``).
    """

    def __init__(self, reason: DeadLetterReason, detail: str, field: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field


class ContractViolationError(PoisonMessageError, ValueError):
    """A model's own cross-field rule failed (missing identity, naive datetime).

    Raised from a struct's ``__post_init__``, so it fires both when Python code builds an invalid value and
    when the decoder does; being a :class:`ValueError`, msgspec reports it as a ``ValidationError`` whose
    ``__cause__`` is this error, and the codec re-raises it with its reason intact.
    """


class TransientError(KairosError):
    """A dependency failed in a way that may succeed on retry (timeouts, unavailable services)."""
