"""The language-model prompt: brand voice, the retrieved items with ids and prices, the offer, the message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from schemas.catalogue import CatalogueItem
from schemas.decisions import InterventionType
from serving.concierge.config import ConciergeConfig
from serving.concierge.offer import Offer, format_money, format_pct

__all__ = ["Prompt", "PromptMessage", "build_prompt", "describe_offer", "item_line"]

_MAX_MESSAGE_CHARS: Final = 500
_SPECIAL_TOKENS: Final = re.compile(r"<\|[^|>]{1,32}\|>")

SYSTEM_TEMPLATE: Final = (
    "You are the shopping assistant of {brand}. Your voice is {voice}.\n"
    "Rules: mention only products from the numbered list, each with its id in square brackets like [p1]. "
    "Never invent products, prices, discounts, links or codes. If there is an offer, state it exactly as given. "
    "Reply in at most two short sentences."
)


@dataclass(frozen=True, slots=True)
class PromptMessage:
    """One chat message."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """Chat messages for the model's chat template; ``as_messages()`` is what the generator receives."""

    messages: tuple[PromptMessage, ...]

    def as_messages(self) -> list[dict[str, str]]:
        """The messages as ``{"role", "content"}`` dicts."""
        return [{"role": m.role, "content": m.content} for m in self.messages]


def item_line(number: int, item: CatalogueItem) -> str:
    """One numbered grounding line: id, title, price, category and stock.

    >>> from datetime import datetime, timezone
    >>> item_line(1, CatalogueItem(product_id="p7", updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     schema_version=1, title="Desk lamp", category="home", price=24.0, stock=0))
    '1. [p7] Desk lamp - €24.00 (home, out of stock)'
    """
    stock = "in stock" if item.stock > 0 else "out of stock"
    price = format_money(item.price, item.currency)
    return f"{number}. [{item.product_id}] {item.title} - {price} ({item.category}, {stock})"


def describe_offer(offer: Offer | None) -> str:
    """The decision's action as an instruction to the model (the policy decides what; the model says how)."""
    if offer is None or not offer.states_something:
        return "No offer: just answer the question helpfully."
    product, pct = offer.product, offer.discount_pct
    if product is not None:
        ref = f"[{product.product_id}] {product.title}"
        if pct is not None and offer.discounted_price is not None:
            now = format_money(offer.discounted_price, product.currency)
            was = format_money(product.price, product.currency)
            return f"Offer {format_pct(pct)} off {ref}: now {now} instead of {was}."
        if offer.kind is InterventionType.UPSELL:
            return f"Suggest the upgrade {ref} at {format_money(product.price, product.currency)}."
        return f"Suggest {ref} at {format_money(product.price, product.currency)}."
    if offer.category is not None:
        extra = f" with {format_pct(pct)} off" if pct is not None else ""
        return f"Suggest our {offer.category} range{extra}."
    return f"Offer {format_pct(pct or 0.0)} off the whole order."


def build_prompt(message: str, items: Sequence[CatalogueItem], offer: Offer | None, config: ConciergeConfig) -> Prompt:
    """The chat prompt for one open question.

    Args:
        message: the shopper's message (truncated, chat-template tokens removed).
        items: the grounding items, best first (the offered product included).
        offer: the offer to convey.
        config: brand name and voice.

    Returns:
        A system message (voice and rules) and a user message (numbered items, the offer, the message).
    """
    listed = "\n".join(item_line(i, item) for i, item in enumerate(items, start=1)) or "(no matching products)"
    shopper = _SPECIAL_TOKENS.sub(" ", message)[:_MAX_MESSAGE_CHARS].strip()
    system = SYSTEM_TEMPLATE.format(brand=config.brand_name, voice=config.brand_voice)
    user = f"Products:\n{listed}\nOffer: {describe_offer(offer)}\nShopper: {shopper}"
    return Prompt((PromptMessage("system", system), PromptMessage("user", user)))
