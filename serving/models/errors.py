"""Errors of the River models, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["ModelConfigError", "ModelError"]


class ModelError(KairosError):
    """Base of the errors raised by ``serving.models``."""


class ModelConfigError(ModelError, ValueError):
    """A model was built with a parameter it cannot honour (e.g. a non-positive memory bound)."""
