"""Errors of the decision policies, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = [
    "NoAllowedActionError",
    "PolicyConfigError",
    "PolicyDivergedError",
    "PolicyError",
    "PolicyExportError",
    "PolicyInputError",
    "UnknownStratumError",
]


class PolicyError(KairosError):
    """Base of the errors raised by ``serving.policy``."""


class PolicyConfigError(PolicyError, ValueError):
    """A policy, encoder or action space was built with a parameter it cannot honour."""


class PolicyInputError(PolicyError, ValueError):
    """Arrays of the wrong shape or dtype reached a policy (a bug in the caller, not bad data)."""


class NoAllowedActionError(PolicyError, ValueError):
    """Every candidate of a decision was masked; guardrails never mask ``none``, so the candidates lacked it."""


class UnknownStratumError(PolicyError, KeyError):
    """A transition named a replay stratum the buffer was not configured with."""


class PolicyExportError(PolicyError):
    """The policy has no network to export (the rule policy), or the network failed to script."""


class PolicyDivergedError(PolicyError):
    """A learning step produced a non-finite loss; the step is skipped and the weights are left as they were."""
