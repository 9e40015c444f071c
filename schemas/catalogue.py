"""Catalogue records as published on ``kairos.catalogue.v1``: the shop's current product data, keyed by product id.

The platform publishes one record per product whenever its title, price or stock changes (a change-data-capture
feed; the topic is compacted, so its latest record per key is the catalogue). Kairos reads it for the ``stock`` and
``price`` product features, the stock guardrail and the concierge's grounding (titles and descriptions).
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from msgspec import Meta, Struct

from schemas.fields import MAX_SAFE_INT, AwareDatetime, Currency, Id, Label, Money, SchemaVersion, Text
from schemas.invariants import naive_datetime

__all__ = ["CatalogueItem", "StockLevel"]

StockLevel: TypeAlias = Annotated[int, Meta(ge=0, le=MAX_SAFE_INT, description="Units available to sell now.")]


class CatalogueItem(Struct, frozen=True, kw_only=True):
    """One product as the shop sells it now. ``updated_at`` orders versions: a reader keeps the latest."""

    product_id: Id
    updated_at: AwareDatetime
    schema_version: SchemaVersion
    title: Label
    category: Label
    price: Money
    stock: StockLevel
    currency: Currency = "EUR"
    description: Text = ""
    active: bool = True

    def __post_init__(self) -> None:
        """``updated_at`` must be timezone-aware, as every wire time is.

        Raises:
            ContractViolationError: a naive ``updated_at``.
        """
        if self.updated_at.tzinfo is None:
            raise naive_datetime("$.updated_at")

    @property
    def partition_key(self) -> bytes:
        """The record key: the product id (the topic is compacted per product)."""
        return self.product_id.encode()
