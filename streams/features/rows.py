"""The shape of a feature row: ``{feature name: value}`` with exactly the names of ``schemas.features``."""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["FeatureRow", "FeatureValue"]

FeatureValue: TypeAlias = int | float | bool | str | list[str]
"""One feature value; its Python type follows the spec's dtype (int64, float64, bool, string, string_list)."""

FeatureRow: TypeAlias = dict[str, FeatureValue]
"""One entity's features, keyed by :class:`schemas.features.FeatureSpec` name, in contract order."""
