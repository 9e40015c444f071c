"""Constrained field types shared by every wire contract (ids, money, counts, text, times)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, TypeAlias

from msgspec import Meta

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MAX_SAFE_INT",
    "AwareDatetime",
    "Count",
    "Currency",
    "Id",
    "Label",
    "Money",
    "Probability",
    "Quantity",
    "SchemaVersion",
    "Text",
    "Url",
]

CURRENT_SCHEMA_VERSION: Final = 1
"""The one ``schema_version`` this build reads and writes; anything else is dead-lettered."""

MAX_SAFE_INT: Final = 2**53 - 1
"""Largest integer every JSON reader (JavaScript included) holds exactly; it also fits orjson's 64 bits."""

Id: TypeAlias = Annotated[str, Meta(min_length=1, max_length=128, description="Opaque id, 1-128 chars.")]
Label: TypeAlias = Annotated[str, Meta(max_length=256)]
Text: TypeAlias = Annotated[str, Meta(max_length=2000)]
Url: TypeAlias = Annotated[str, Meta(max_length=2048)]
Money: TypeAlias = Annotated[float, Meta(ge=0.0, description="Amount in the order currency, >= 0.")]
Quantity: TypeAlias = Annotated[int, Meta(ge=1, le=MAX_SAFE_INT)]
Count: TypeAlias = Annotated[int, Meta(ge=0, le=MAX_SAFE_INT)]
Probability: TypeAlias = Annotated[float, Meta(ge=0.0, le=1.0)]
Currency: TypeAlias = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR.")]
AwareDatetime: TypeAlias = Annotated[
    datetime, Meta(tz=True, description="RFC 3339 with a UTC offset, e.g. 2026-11-21T10:00:00.123Z.")
]
SchemaVersion: TypeAlias = Annotated[
    int,
    Meta(
        ge=CURRENT_SCHEMA_VERSION,
        le=CURRENT_SCHEMA_VERSION,
        description="Contract version; a breaking change is a new version on a new .vN topic.",
    ),
]
