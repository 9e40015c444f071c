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

__all__ = ["Prompt", "PromptMessage", "build_prompt", "describe_offer", "item_line", "reply_opening"]

_MAX_MESSAGE_CHARS: Final = 500
_SPECIAL_TOKENS: Final = re.compile(r"<\|[^|>]{1,32}\|>")
_FIRST_SENTENCE_END: Final = re.compile(r"[.!?](?=\s|$)")

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
    """Chat messages for the model's chat template; ``as_messages()`` is what the generator receives.

    With an ``opening``, the last message is the start of the assistant's reply: the model continues it, and
    :meth:`reply` puts the two together.
    """

    messages: tuple[PromptMessage, ...]
    opening: str = ""

    def as_messages(self) -> list[dict[str, str]]:
        """The messages as ``{"role", "content"}`` dicts (the opening last, as a partial assistant message)."""
        out = [{"role": m.role, "content": m.content} for m in self.messages]
        if self.opening:
            out.append({"role": "assistant", "content": self.opening})
        return out

    def reply(self, generated: str) -> str:
        """The model's text as a reply: without an opening, as generated; with one, the opening and the first
        sentence the model completed (or everything it wrote, when it completed none: validation then drops
        the unfinished sentence).

        >>> Prompt((), opening="I'd suggest the Mug [p6]").reply(" for tea. I'm not sure. Maybe")
        "I'd suggest the Mug [p6] for tea."
        >>> Prompt((), opening="I'd suggest the Mug [p6]").reply("for tea.")
        "I'd suggest the Mug [p6] for tea."
        >>> Prompt((), opening="I'd suggest the Mug [p6]").reply(", a classic.")
        "I'd suggest the Mug [p6], a classic."
        >>> Prompt(()).reply(" Hello. ")
        'Hello.'
        """
        if not self.opening:
            return generated.strip()
        end = _FIRST_SENTENCE_END.search(generated)
        rest = (generated[: end.end()] if end else generated).strip()
        joiner = "" if not rest or rest[0] in ",.;:!?" else " "  # a server may strip the continuation's space
        return f"{self.opening}{joiner}{rest}"


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
    opening = reply_opening(items, offer) if config.reply_opening else ""
    return Prompt((PromptMessage("system", system), PromptMessage("user", user)), opening)


def reply_opening(items: Sequence[CatalogueItem], offer: Offer | None) -> str:
    """The start of the reply the model continues: the offered product, else the best grounding item.

    >>> from datetime import datetime, timezone
    >>> lamp = CatalogueItem(product_id="p7", updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     schema_version=1, title="Desk lamp", category="home", price=24.0, stock=3)
    >>> reply_opening([lamp], None)
    "I'd suggest the Desk lamp [p7]"
    >>> reply_opening([], None)
    ''
    """
    product = offer.product if offer is not None and offer.product is not None else (items[0] if items else None)
    if product is None:
        return ""
    title = " ".join(_SPECIAL_TOKENS.sub(" ", product.title).split())
    return f"I'd suggest the {title} [{product.product_id}]"
