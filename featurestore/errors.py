"""Errors of the feature store adapters, each under the one Kairos taxonomy in :mod:`schemas.errors`."""

from __future__ import annotations

import sqlite3
from typing import Final

import redis.exceptions

from schemas.errors import KairosError, TransientError

__all__ = [
    "STORE_IO_ERRORS",
    "FeatureRowError",
    "FeatureStoreConfigError",
    "FeatureStoreUnavailableError",
    "UnknownFeatureViewError",
]


class FeatureStoreUnavailableError(TransientError):
    """The online or offline store did not answer (Redis down, SQLite locked): retry with backoff, then fall back."""


class FeatureStoreConfigError(KairosError, ValueError):
    """The feature store configuration is invalid (an ``online_store`` that is neither ``sqlite`` nor a Redis URL)."""


class UnknownFeatureViewError(KairosError, KeyError):
    """A write named a feature view the Kairos repository does not declare."""


class FeatureRowError(KairosError, ValueError):
    """A row handed to a writer lacks the join key, ``event_timestamp`` or a feature of its view: a bug upstream."""


STORE_IO_ERRORS: Final[tuple[type[Exception], ...]] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlite3.OperationalError,
)
"""The store client errors the adapters translate into :class:`FeatureStoreUnavailableError`."""
