"""Errors of off-policy evaluation, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = [
    "DecisionLogError",
    "IncomparableEstimatesError",
    "OPEConfigError",
    "OPEError",
    "OPEInputError",
]


class OPEError(KairosError):
    """Base of the errors raised by ``serving.ope``."""


class OPEConfigError(OPEError, ValueError):
    """An estimator, interval or gate was asked for a setting it cannot honour (a level outside (0, 1))."""


class OPEInputError(OPEError, ValueError):
    """Logged data or a policy's arrays are inconsistent: wrong shapes, a propensity outside (0, 1], a distribution
    that does not sum to 1, non-finite values."""


class DecisionLogError(OPEInputError):
    """A logged decision cannot be turned into a bandit round: no candidates, its chosen action is not among them,
    its propensity disagrees with the chosen candidate's, or it has no reward."""


class IncomparableEstimatesError(OPEInputError):
    """Two estimates given to the promotion gate were not computed by the same estimator on the same logged rounds."""
