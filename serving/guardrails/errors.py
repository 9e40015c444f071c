"""Errors of the guardrails, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["GuardrailConfigError", "GuardrailError"]


class GuardrailError(KairosError):
    """Base of the errors raised by ``serving.guardrails``."""


class GuardrailConfigError(GuardrailError, ValueError):
    """A guardrail was configured with a value it cannot honour (a negative cap, an empty window)."""
