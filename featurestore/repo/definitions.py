"""The Kairos Feast repository's definitions, generated from ``schemas.features`` (read by ``feast apply``)."""

from __future__ import annotations

from pathlib import Path

from featurestore.history import ensure_offline_files
from featurestore.views import build_definitions

__all__: list[str] = []

_OFFLINE_DIR = Path(__file__).resolve().parent / "offline"
ensure_offline_files(_OFFLINE_DIR)

# `feast apply` collects Feast objects from module globals (not from lists), so bind each one under its own name.
globals().update({obj.name: obj for obj in build_definitions(_OFFLINE_DIR)})
