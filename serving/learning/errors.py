"""Errors of online learning, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["CheckpointError", "LearningConfigError", "LearningError"]


class LearningError(KairosError):
    """Base of the errors raised by ``serving.learning``."""


class LearningConfigError(LearningError, ValueError):
    """The learner was configured with a value it cannot honour (a non-positive cadence, a holdout outside [0, 1))."""


class CheckpointError(LearningError):
    """A policy checkpoint could not be written or read back (missing files, weights that do not fit the policy)."""
