"""Structured filters read from a shopper's message by rules: category, price bounds, in-stock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["Constraints", "extract_constraints", "parse_amount"]

_NUMBER: Final = r"\d++(?:[.,]\d++)?+"
_CURRENCY_AFTER: Final = r"(?:€|eur(?:os?)?|usd|dollars?|bucks|£|gbp|pounds?)"
_NOT_MONEY_UNIT: Final = (
    r"(?!\s*(?:%|percent|per\s*cent|kg|g|cm|mm|m|l|ml|gb|tb|mb|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|"
    r"years?|yrs?|inch(?:es)?|in|lbs?|pcs|pieces|items?|people|persons?)\b)"
)
_AMOUNT: Final = rf"(?:[€$£]\s*)?(?P<{{name}}>{_NUMBER})(?:\s*{_CURRENCY_AFTER}\b|\s*€)?{_NOT_MONEY_UNIT}"
_UPPER_WORDS: Final = (
    r"under|below|less\s+than|cheaper\s+than|up\s+to|max(?:imum)?|at\s+most|no\s+more\s+than|not\s+more\s+than|"
    r"within|budget(?:\s+(?:of|is))?|<=?"
)
_LOWER_WORDS: Final = r"over|above|more\s+than|at\s+least|min(?:imum)?|starting\s+at|>=?"
_AROUND_WORDS: Final = r"around|about|roughly|approximately|approx\.?|~"

_BETWEEN: Final = re.compile(
    rf"(?:between|from)\s+{_AMOUNT.format(name='low')}\s+(?:and|to|-)\s+{_AMOUNT.format(name='high')}"
)
_RANGE: Final = re.compile(
    rf"(?:[€$£]\s*)?(?P<low>{_NUMBER})\s*(?:-|–|to)\s*(?:[€$£]\s*)?(?P<high>{_NUMBER})\s*{_CURRENCY_AFTER}\b"
)
_UPPER: Final = re.compile(rf"(?:^|(?<=[^a-z]))(?:{_UPPER_WORDS})\s*(?:of\s+)?{_AMOUNT.format(name='value')}")
_UPPER_AFTER: Final = re.compile(
    rf"(?:[€$£]\s*(?P<a>{_NUMBER})|(?P<b>{_NUMBER})\s*{_CURRENCY_AFTER}\b)\s*(?:or\s+less|or\s+under|max|tops)\b"
)
_LOWER: Final = re.compile(rf"(?:^|(?<=[^a-z]))(?:{_LOWER_WORDS})\s*{_AMOUNT.format(name='value')}")
_AROUND: Final = re.compile(rf"(?:^|(?<=[^a-z]))(?:{_AROUND_WORDS})\s*{_AMOUNT.format(name='value')}")
_IN_STOCK: Final = re.compile(
    r"\b(?:in\s+stock|available|availability|right\s+away|asap|ships?\s+(?:today|now)|need\s+it\s+by)\b"
)
_AROUND_SPREAD: Final = 0.2

_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "jewelry": ("jewellery", "jewelery", "ring", "rings", "necklace", "necklaces", "earrings", "bracelet", "bracelets"),
    "fashion": ("clothes", "clothing", "dress", "dresses", "shirt", "shirts", "jacket", "jackets", "shoes"),
    "electronics": ("gadget", "gadgets", "headphones", "laptop", "laptops", "phone", "phones", "camera"),
    "books": ("novel", "novels", "reading"),
    "toys": ("game", "games", "lego", "puzzle", "puzzles"),
    "beauty": ("makeup", "make-up", "skincare", "cosmetics", "perfume"),
    "pets": ("dog", "dogs", "cat", "cats", "puppy", "kitten"),
    "grocery": ("groceries", "food", "snacks", "coffee", "tea"),
    "sports": ("sport", "fitness", "gym", "running", "yoga", "bike", "cycling"),
    "garden": ("gardening", "plants", "plant", "lawn"),
    "home": ("kitchen", "furniture", "decor", "bedding"),
    "automotive": ("car", "cars", "auto", "motor"),
}
"""Words that name a default category without being its name; used only when that category exists."""


@dataclass(frozen=True, slots=True)
class Constraints:
    """Filters for retrieval; ``None``/``False`` means unconstrained.

    Attributes:
        category: a category of the catalogue, spelled as the catalogue spells it.
        max_price: inclusive upper price bound.
        min_price: inclusive lower price bound.
        in_stock: only items with stock > 0.
    """

    category: str | None = None
    max_price: float | None = None
    min_price: float | None = None
    in_stock: bool = False

    @property
    def empty(self) -> bool:
        """Whether no filter is set."""
        return self == Constraints()

    def amounts(self) -> tuple[float, ...]:
        """The price bounds the shopper named (a reply may repeat them)."""
        return tuple(a for a in (self.min_price, self.max_price) if a is not None)


def parse_amount(text: str) -> float:
    """A written amount as a number; a comma is a decimal separator unless three digits follow it.

    >>> parse_amount("12,50"), parse_amount("1,000"), parse_amount("49.9")
    (12.5, 1000.0, 49.9)
    """
    if "," in text:
        head, _, tail = text.partition(",")
        text = head + tail if len(tail) == 3 else f"{head}.{tail}"
    return float(text)


def _category_phrases(categories: Iterable[str]) -> list[tuple[re.Pattern[str], str]]:
    phrases: list[tuple[re.Pattern[str], str]] = []
    for category in categories:
        name = category.lower().strip()
        if not name:
            continue
        forms = {name}
        if name.endswith("ies"):
            forms.add(name[:-3] + "y")
        elif name.endswith("s") and not name.endswith("ss"):
            forms.add(name[:-1])
        elif name.endswith("y"):
            forms.add(name[:-1] + "ies")
        else:
            forms.add(name + "s")
        forms.update(_SYNONYMS.get(name, ()))
        for form in sorted(forms, key=lambda f: (-len(f), f)):
            phrases.append((re.compile(rf"(?<![a-z0-9-]){re.escape(form)}(?![a-z0-9-])"), category))
    return phrases


def _find_category(text: str, categories: Iterable[str]) -> str | None:
    best: tuple[int, int, str] | None = None
    for pattern, category in _category_phrases(categories):
        match = pattern.search(text)
        if match is not None:
            key = (match.start(), -len(match.group()), category)
            if best is None or key < best:
                best = key
    return best[2] if best is not None else None


def extract_constraints(text: str, categories: Iterable[str] = ()) -> Constraints:
    """Read retrieval filters from a shopper's message with a few rules (no model).

    Prices: "under 50 euros", "below €30", "less than 40", "up to $25", "50 EUR or less", "over 100",
    "between 20 and 50", "20-50 euros", "around 30 €" (±20%). A bare number without a price word is ignored,
    and so is one followed by a unit ("under 2 kg"). Category: the first category of ``categories`` named in the
    text (singular, plural, or a common synonym of a default category). In stock: "in stock", "available",
    "need it by ...".

    Args:
        text: the shopper's message.
        categories: the catalogue's categories; the result only ever names one of them.

    Returns:
        The constraints found; unconstrained fields are ``None``/``False``.

    >>> extract_constraints("Any running shoes under 50 euros in stock?", ["fashion", "sports"])
    Constraints(category='sports', max_price=50.0, min_price=None, in_stock=True)
    >>> extract_constraints("a gift between €20 and €35").max_price
    35.0
    """
    lowered = " ".join(text.lower().split())
    max_price: float | None = None
    min_price: float | None = None
    if (m := _BETWEEN.search(lowered)) or (m := _RANGE.search(lowered)):
        low, high = sorted((parse_amount(m.group("low")), parse_amount(m.group("high"))))
        min_price, max_price = low, high
    else:
        if m := _UPPER.search(lowered):
            max_price = parse_amount(m.group("value"))
        elif m := _UPPER_AFTER.search(lowered):
            max_price = parse_amount(m.group("a") or m.group("b"))
        if m := _LOWER.search(lowered):
            min_price = parse_amount(m.group("value"))
        if max_price is None and min_price is None and (m := _AROUND.search(lowered)):
            value = parse_amount(m.group("value"))
            min_price = round(value * (1 - _AROUND_SPREAD), 2)
            max_price = round(value * (1 + _AROUND_SPREAD), 2)
    if max_price is not None and min_price is not None and min_price > max_price:
        min_price = None
    return Constraints(
        category=_find_category(lowered, categories),
        max_price=max_price,
        min_price=min_price,
        in_stock=_IN_STOCK.search(lowered) is not None,
    )
