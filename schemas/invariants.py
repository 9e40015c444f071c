"""Cross-field rules the models enforce in ``__post_init__``, at construction and at decode alike."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from schemas.errors import ContractViolationError, DeadLetterReason

__all__ = ["MISSING_IDENTITY_DETAIL", "require_aware", "require_identity"]

MISSING_IDENTITY_DETAIL: Final = "at least one of user_id or anonymous_id is required"


def require_identity(user_id: str | None, anonymous_id: str | None) -> None:
    """Insist on at least one identity, the partition key of everything keyed by shopper.

    Raises:
        ContractViolationError: ``MISSING_IDENTITY`` when both are ``None``.

    >>> require_identity(None, "anon-1")
    >>> try:
    ...     require_identity(None, None)
    ... except ContractViolationError as exc:
    ...     print(exc.reason)
    missing_identity
    """
    if user_id is None and anonymous_id is None:
        raise ContractViolationError(DeadLetterReason.MISSING_IDENTITY, MISSING_IDENTITY_DETAIL)


def require_aware(value: datetime, field: str) -> None:
    """Insist on a timezone-aware datetime (the decoder checks this too; this guards values built in Python).

    Raises:
        ContractViolationError: ``INVALID_VALUE`` for a naive datetime, with ``field`` as the path.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        detail = f"{field.removeprefix('$.')} must be timezone-aware"
        raise ContractViolationError(DeadLetterReason.INVALID_VALUE, detail, field)
