"""Deterministic reply texts: the offer sentence, item lists and whole template replies per route."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.catalogue import CatalogueItem
from schemas.decisions import InterventionType
from serving.concierge.config import FixedAnswers
from serving.concierge.offer import Offer, format_money, format_pct
from serving.concierge.retrieval import Hit
from serving.concierge.router import Route, RouteDecision

__all__ = ["item_phrase", "offer_sentence", "template_body"]

_LISTED_ITEMS = 3


def item_phrase(item: CatalogueItem) -> str:
    """An item as templates name it: title, id and price.

    >>> from datetime import datetime, timezone
    >>> item_phrase(CatalogueItem(product_id="p7", updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     schema_version=1, title="Desk lamp", category="home", price=24.0, stock=5))
    'Desk lamp (p7) at €24.00'
    """
    return f"{item.title} ({item.product_id}) at {format_money(item.price, item.currency)}"


def offer_sentence(offer: Offer | None) -> str | None:
    """The one sentence that states ``offer`` exactly (its product id, category and discount), or ``None``.

    Every reply that conveys an offer contains this sentence or an LM sentence that states the same facts.
    """
    if offer is None or not offer.states_something:
        return None
    product, pct = offer.product, offer.discount_pct
    if product is not None:
        ref = f"{product.title} ({product.product_id})"
        if pct is not None and offer.discounted_price is not None:
            now = format_money(offer.discounted_price, product.currency)
            was = format_money(product.price, product.currency)
            return f"Just for you: {ref} is {format_pct(pct)} off, {now} instead of {was}."
        price = format_money(product.price, product.currency)
        if offer.kind is InterventionType.UPSELL:
            return f"You might prefer {ref} at {price}."
        if offer.kind is InterventionType.CROSS_SELL:
            return f"It pairs well with {ref} at {price}."
        return f"Have a look at {ref} at {price}."
    if offer.category is not None:
        if pct is not None:
            return f"Just for you: {format_pct(pct)} off {offer.category} today."
        return f"Have a look at our {offer.category} range."
    return f"Just for you: {format_pct(pct or 0.0)} off your order today."


def _items_sentence(hits: Sequence[Hit], skip: str | None) -> str | None:
    listed = [h.item for h in hits if h.item.product_id != skip][:_LISTED_ITEMS]
    if not listed:
        return None
    if len(listed) == 1:
        return f"You could try the {item_phrase(listed[0])}."
    phrases = [item_phrase(item) for item in listed]
    return f"Here are some options: {'; '.join(phrases[:-1])} and {phrases[-1]}."


def template_body(decision: RouteDecision, offer: Offer | None, hits: Sequence[Hit], answers: FixedAnswers) -> str:
    """The reply body without the language model: the route's fixed answer or an item list, plus the offer.

    Args:
        decision: the routing decision (its table row names the fixed answer and whether to convey the offer).
        offer: the decision's offer (stated only on routes that convey offers).
        hits: retrieved items (listed on open questions).
        answers: the fixed answers.

    Returns:
        The body; it states ``offer`` exactly when the route conveys offers.
    """
    conveyed = offer if decision.spec.conveys_offer else None
    offer_line = offer_sentence(conveyed)
    parts: list[str] = []
    if decision.route is Route.DISCOUNT_REQUEST:
        if conveyed is None or conveyed.discount_pct is None:
            parts.append(answers.discount_none)
    elif decision.spec.answer is not None:
        parts.append(getattr(answers, decision.spec.answer))
    else:
        listed = _items_sentence(hits, conveyed.product_id if conveyed is not None else None)
        if listed is not None:
            parts.append(listed)
        elif offer_line is None:
            parts.append(answers.no_match)
    if offer_line is not None:
        parts.append(offer_line)
    return " ".join(parts)
