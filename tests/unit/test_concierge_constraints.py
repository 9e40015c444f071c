"""Rule-based constraint extraction: price bounds, categories, in-stock."""

from __future__ import annotations

import pytest

from serving.concierge import Constraints, extract_constraints

CATEGORIES = ("books", "electronics", "fashion", "home", "jewelry", "sports", "toys", "cat-3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Which books would you recommend under 40 EUR?", Constraints("books", max_price=40.0)),
        ("something below €30", Constraints(max_price=30.0)),
        ("under 50 euros please", Constraints(max_price=50.0)),
        ("less than 40", Constraints(max_price=40.0)),
        ("toys up to $25", Constraints("toys", max_price=25.0)),
        ("50 EUR or less", Constraints(max_price=50.0)),
        ("a ring, max 120€", Constraints("jewelry", max_price=120.0)),
        ("my budget of 60", Constraints(max_price=60.0)),
        ("cheaper than 19.99", Constraints(max_price=19.99)),
        ("over 100 euros", Constraints(min_price=100.0)),
        ("between 20 and 50", Constraints(min_price=20.0, max_price=50.0)),
        ("gift 20-50 euros", Constraints(min_price=20.0, max_price=50.0)),
        ("around 30 €", Constraints(min_price=24.0, max_price=36.0)),
        ("something in cat-3 under 12,50 €", Constraints("cat-3", max_price=12.5)),
        ("a necklace under 1,000 euros", Constraints("jewelry", max_price=1000.0)),
        ("Is this electronics item available in other sizes?", Constraints("electronics", in_stock=True)),
        ("Is it in stock? I need it by Friday.", Constraints(in_stock=True)),
        ("a novel for the beach", Constraints("books")),
        ("cheap jewellery", Constraints("jewelry")),
    ],
)
def test_extraction(text: str, expected: Constraints) -> None:
    assert extract_constraints(text, CATEGORIES) == expected


@pytest.mark.parametrize(
    "text",
    ["a bag under 2 kg", "under 25 kg", "ready in under 5 minutes", "items 50% off", "I have 3 kids", "order 48213"],
)
def test_numbers_that_are_not_prices_are_ignored(text: str) -> None:
    found = extract_constraints(text, CATEGORIES)
    assert found.max_price is None and found.min_price is None


def test_only_catalogue_categories_are_named_and_first_mention_wins() -> None:
    assert extract_constraints("shoes for running", ("books",)).category is None
    assert extract_constraints("toys or books?", CATEGORIES).category == "toys"
    assert extract_constraints("a gift for my cat", CATEGORIES).category is None


def test_empty_and_amounts() -> None:
    assert Constraints().empty
    assert Constraints(min_price=5.0, max_price=9.0).amounts() == (5.0, 9.0)
