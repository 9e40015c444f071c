"""What a reply text states: product ids, money amounts and percentages, and the offer contract over them."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Final

from serving.concierge.constraints import parse_amount
from serving.concierge.offer import Offer

__all__ = ["Mentions", "contract_violations", "find_mentions", "id_regex", "text_tokens"]

_TOKEN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]|[A-Za-z0-9]")
_AMOUNT: Final = r"\d+(?:[.,]\d{1,2})?(?![\d%])"
_ISO: Final = r"(?:CHF|SEK|NOK|DKK|PLN|CZK|HUF|JPY|CAD|AUD|NZD)"
_MONEY: Final = re.compile(
    rf"(?:[€$£]\s*(?P<a>{_AMOUNT})|(?P<b>{_AMOUNT})\s*(?:€|£|(?i:eur(?:os?)?|usd|dollars?|gbp|pounds?)\b|{_ISO}\b))"
)
_PERCENT: Final = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)?|ten|fifteen|twenty|twenty-five|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"\s*(?:%|percent\b|per cent\b)",
    re.IGNORECASE,
)
_WORD_NUMBERS: Final = {
    "ten": 10.0, "fifteen": 15.0, "twenty": 20.0, "twenty-five": 25.0, "thirty": 30.0, "forty": 40.0,
    "fifty": 50.0, "sixty": 60.0, "seventy": 70.0, "eighty": 80.0, "ninety": 90.0,
}  # fmt: skip
_DISCOUNT_AFTER: Final = re.compile(r"^\s*(?:off|discount|reduction|saving|savings|cheaper|less|lower)\b", re.I)
_DISCOUNT_BEFORE: Final = re.compile(
    r"\b(?:save|saving|discount|reduction|off|knock|extra)\s*(?:of\s*)?(?:an?\s*)?$", re.I
)
_HALF: Final = re.compile(r"\bhalf[ -](?:price|off)\b", re.I)
_CONTEXT_CHARS: Final = 24


def text_tokens(text: str) -> frozenset[str]:
    """The word-like tokens of ``text`` (ids included), case kept.

    >>> sorted(text_tokens("Mug p12, 0.5 l."))
    ['0.5', 'Mug', 'l', 'p12']
    """
    return frozenset(m.group() for m in _TOKEN.finditer(text))


def id_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` (what an id looks like) anchored so it matches whole tokens only."""
    return re.compile(rf"(?<![A-Za-z0-9_.:-])(?:{pattern})(?![A-Za-z0-9_:-])")


@dataclass(frozen=True, slots=True)
class Mentions:
    """What one text states.

    Attributes:
        catalogue_ids: tokens that are live catalogue ids, in order of first mention.
        unknown_ids: tokens shaped like an id (the configured pattern) that no live product has.
        amounts: money amounts (written with a currency).
        discount_pcts: percentages in a discount context ("10% off", "save 15%", "half price" = 50).
        other_pcts: every other percentage ("100% cotton").
    """

    catalogue_ids: tuple[str, ...]
    unknown_ids: tuple[str, ...]
    amounts: tuple[float, ...]
    discount_pcts: tuple[float, ...]
    other_pcts: tuple[float, ...]


def find_mentions(text: str, catalogue_ids: Container[str], id_pattern: re.Pattern[str]) -> Mentions:
    """Extract the ids, amounts and percentages ``text`` states.

    Args:
        text: a reply (or one sentence of it).
        catalogue_ids: the live product ids (anything supporting ``in``).
        id_pattern: :func:`id_regex` of the configured id shape.

    Returns:
        The mentions, each kind in order of appearance.

    >>> m = find_mentions("Try p1 (€9.50), now 10% off; p999 is 100% wool.", {"p1"}, id_regex(r"p\\d+"))
    >>> m.catalogue_ids, m.unknown_ids, m.amounts, m.discount_pcts, m.other_pcts
    (('p1',), ('p999',), (9.5,), (10.0,), (100.0,))
    """
    known: dict[str, None] = {}
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in catalogue_ids:
            known[token] = None
    unknown = tuple(dict.fromkeys(m.group() for m in id_pattern.finditer(text) if m.group() not in known))
    amounts = tuple(parse_amount(m.group("a") or m.group("b")) for m in _MONEY.finditer(text))
    discount: list[float] = []
    other: list[float] = []
    for match in _PERCENT.finditer(text):
        raw = match.group("n").lower()
        value = _WORD_NUMBERS.get(raw) or parse_amount(raw)
        after = text[match.end() : match.end() + _CONTEXT_CHARS]
        before = text[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
        is_discount = _DISCOUNT_AFTER.search(after) is not None or _DISCOUNT_BEFORE.search(before) is not None
        (discount if is_discount else other).append(value)
    discount.extend(50.0 for _ in _HALF.finditer(text))
    return Mentions(tuple(known), unknown, amounts, tuple(discount), tuple(other))


def contract_violations(text: str, offer: Offer | None, mentions: Mentions) -> tuple[str, ...]:
    """How ``text`` fails to state ``offer`` exactly (the message contract); empty when it holds.

    The contract: the offered product's id is in the text (or, for a category-only offer, the category's
    name); every discount the text states equals the offer's discount, and the offer's discount, if any, is
    stated; without a discount in the offer, no discount is stated at all.

    Args:
        text: the final reply body.
        offer: what the decision asks to convey (``None``: nothing).
        mentions: :func:`find_mentions` of ``text``.
    """
    violations: list[str] = []
    pct = offer.discount_pct if offer is not None else None
    if offer is not None and offer.product_id is not None and offer.product_id not in mentions.catalogue_ids:
        violations.append("offer_product_missing")
    if (
        offer is not None
        and offer.product is None
        and offer.category is not None
        and re.search(rf"(?<![a-z0-9]){re.escape(offer.category.lower())}(?![a-z0-9])", text.lower()) is None
    ):
        violations.append("offer_category_missing")
    if pct is None and mentions.discount_pcts:
        violations.append("unoffered_discount")
    if pct is not None and (not mentions.discount_pcts or any(p != pct for p in mentions.discount_pcts)):
        violations.append("discount_mismatch")
    return tuple(violations)
