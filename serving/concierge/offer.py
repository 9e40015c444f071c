"""What the policy's action asks the concierge to convey, resolved against the catalogue and the discount cap."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from schemas.catalogue import CatalogueItem
from schemas.decisions import Action, InterventionType
from serving.concierge.catalogue import CatalogueIndex

__all__ = ["Offer", "discounted_price", "format_money", "format_pct", "offer_from_action"]

_SYMBOLS: Final = {"EUR": "€", "USD": "$", "GBP": "£"}
_CENT: Final = Decimal("0.01")


def format_money(amount: float, currency: str = "EUR") -> str:
    """An amount as the concierge writes it (the validator parses the same forms back).

    >>> format_money(12.5), format_money(3, "USD"), format_money(7.25, "CHF")
    ('€12.50', '$3.00', '7.25 CHF')
    """
    value = Decimal(str(amount)).quantize(_CENT, rounding=ROUND_HALF_UP)
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def format_pct(pct: float) -> str:
    """A percentage without a needless decimal.

    >>> format_pct(10.0), format_pct(12.5)
    ('10%', '12.5%')
    """
    return f"{pct:g}%"


def discounted_price(price: float, pct: float) -> float:
    """``price`` less ``pct`` percent, rounded half-up to the cent.

    >>> discounted_price(49.99, 10)
    44.99
    """
    value = Decimal(str(price)) * (Decimal(100) - Decimal(str(pct))) / Decimal(100)
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Offer:
    """The part of a decision's action a reply must state, exactly.

    Attributes:
        kind: the action's intervention type.
        product: the live catalogue item named by the action, if any.
        category: the category named by the action (catalogue spelling), if any; with a product, the reply states
            the product, which is in this category.
        discount_pct: the discount to state, if any (always within the configured cap).
        dropped: why a part of the action is not conveyed (``unknown_product``, ``unknown_category``,
            ``category_mismatch``, ``discount_over_cap``); empty when the whole action is conveyed.
    """

    kind: InterventionType
    product: CatalogueItem | None = None
    category: str | None = None
    discount_pct: float | None = None
    dropped: tuple[str, ...] = ()

    @property
    def product_id(self) -> str | None:
        """The offered product's id, if any."""
        return self.product.product_id if self.product is not None else None

    @property
    def discounted_price(self) -> float | None:
        """The offered product's price after the discount, when both exist."""
        if self.product is None or self.discount_pct is None:
            return None
        return discounted_price(self.product.price, self.discount_pct)

    @property
    def states_something(self) -> bool:
        """Whether there is a product, category or discount to state."""
        return self.product is not None or self.category is not None or self.discount_pct is not None


def offer_from_action(action: Action | None, catalogue: CatalogueIndex, max_discount_pct: float) -> Offer | None:
    """Resolve the action to convey: its product must be live, its discount within the cap.

    Args:
        action: the decision's action (``None`` or ``type=none``: nothing to convey).
        catalogue: the live catalogue.
        max_discount_pct: the concierge's discount cap; a larger discount is dropped, never rounded down.

    Returns:
        The offer, or ``None`` when the action asks for nothing.
    """
    if action is None or action.type is InterventionType.NONE:
        return None
    dropped: list[str] = []
    product = None
    if action.product_id is not None:
        product = catalogue.get(action.product_id)
        if product is None:
            dropped.append("unknown_product")
    category = None
    if action.category is not None:
        by_lower = {c.lower(): c for c in catalogue.categories}
        category = by_lower.get(action.category.lower())
        if category is None:
            dropped.append("unknown_category")
    if product is not None and category is not None and product.category != category:
        dropped.append("category_mismatch")
        category = None
    discount = action.discount_pct if action.discount_pct else None
    if discount is not None and discount > max_discount_pct:
        dropped.append("discount_over_cap")
        discount = None
    return Offer(kind=action.type, product=product, category=category, discount_pct=discount, dropped=tuple(dropped))
