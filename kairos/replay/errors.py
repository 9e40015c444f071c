"""Errors of ``kairos replay``, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["ReplayError", "ReplayIsolationError"]


class ReplayError(KairosError):
    """A replay cannot start or cannot go on (a finished replay in the namespace, a stalled broker…)."""


class ReplayIsolationError(ReplayError):
    """A replay was about to write outside its namespace (a bug: it never writes production topics)."""
