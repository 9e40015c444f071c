"""The errors of the cross-field rules that models check in ``__post_init__`` (identity, aware times).

The checks themselves are inlined in each ``__post_init__``: they run on every decode, and a helper call there
costs more than the check. Only the failure path calls into this module.
"""

from __future__ import annotations

from typing import Final

from schemas.errors import ContractViolationError, DeadLetterReason

__all__ = ["MISSING_IDENTITY_DETAIL", "missing_identity", "naive_datetime"]

MISSING_IDENTITY_DETAIL: Final = "at least one of user_id or anonymous_id is required"


def missing_identity() -> ContractViolationError:
    """The error for a value with neither ``user_id`` nor ``anonymous_id``.

    >>> missing_identity().reason
    <DeadLetterReason.MISSING_IDENTITY: 'missing_identity'>
    """
    return ContractViolationError(DeadLetterReason.MISSING_IDENTITY, MISSING_IDENTITY_DETAIL)


def naive_datetime(field: str) -> ContractViolationError:
    """The error for a datetime without a timezone at JSON path ``field``.

    >>> naive_datetime("$.event_time").detail
    'event_time must be timezone-aware'
    """
    name = field.removeprefix("$.")
    return ContractViolationError(DeadLetterReason.INVALID_VALUE, f"{name} must be timezone-aware", field)
