"""Errors of the concierge, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError, TransientError

__all__ = [
    "ConciergeConfigError",
    "ConciergeError",
    "EmbeddingShapeError",
    "GenerationError",
    "IntentDataError",
    "UnknownProductError",
]


class ConciergeError(KairosError):
    """Base of the errors raised by ``serving.concierge``."""


class ConciergeConfigError(ConciergeError, ValueError):
    """A concierge object was built with a parameter it cannot honour (e.g. a discount cap above 100)."""


class UnknownProductError(ConciergeError, KeyError):
    """A product id is not in the catalogue (never published, or inactive)."""


class EmbeddingShapeError(ConciergeError, ValueError):
    """An embed function returned an array of the wrong shape or with non-finite values."""


class IntentDataError(ConciergeError, ValueError):
    """The labelled intent data is malformed (unknown label, missing column, empty text)."""


class GenerationError(ConciergeError, TransientError):
    """The language model failed to produce a reply (server error, unavailable); the caller falls back."""
