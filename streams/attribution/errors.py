"""Errors of the attribution core, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["AttributionConfigError"]


class AttributionConfigError(KairosError, ValueError):
    """An :class:`~streams.attribution.AttributionConfig` value is out of range or inconsistent."""
