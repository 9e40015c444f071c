"""The catalogue index keeps the latest active version of each product."""

from __future__ import annotations

import pickle
from collections import Counter

import pytest

from serving.concierge import CatalogueChange, CatalogueIndex, UnknownProductError, is_valid_product_id
from tests.unit.test_concierge_support import SHOP, item


def test_newer_version_wins_and_older_is_ignored() -> None:
    index = CatalogueIndex()
    assert index.apply(item("p1", "Mug", "home", 9.0, minutes=5)) is CatalogueChange.ADDED
    assert index.apply(item("p1", "Mug", "home", 7.0, minutes=1)) is CatalogueChange.STALE
    assert index.require("p1").price == 9.0
    assert index.apply(item("p1", "Mug", "home", 8.0, minutes=9)) is CatalogueChange.UPDATED
    assert index.require("p1").price == 8.0


def test_equal_time_later_record_wins_and_exact_duplicates_are_stale() -> None:
    index = CatalogueIndex([item("p1", "Mug", "home", 9.0)])
    assert index.apply(item("p1", "Mug", "home", 9.0)) is CatalogueChange.STALE
    assert index.apply(item("p1", "Mug", "home", 6.0)) is CatalogueChange.UPDATED
    assert index.require("p1").price == 6.0


def test_inactive_drops_out_and_an_older_active_version_cannot_resurrect_it() -> None:
    index = CatalogueIndex([item("p1", "Mug", "home", 9.0, minutes=1)])
    assert index.apply(item("p1", "Mug", "home", 9.0, active=False, minutes=2)) is CatalogueChange.REMOVED
    assert "p1" not in index and index.get("p1") is None
    assert index.categories == ()
    assert index.apply(item("p1", "Mug", "home", 9.0, minutes=1)) is CatalogueChange.STALE
    assert index.apply(item("p1", "Mug", "home", 9.0, minutes=3)) is CatalogueChange.ADDED


def test_inactive_record_for_unknown_product_is_a_tombstone() -> None:
    index = CatalogueIndex()
    assert index.apply(item("p9", "Hat", "fashion", 5.0, active=False, minutes=4)) is CatalogueChange.INACTIVE
    assert index.apply(item("p9", "Hat", "fashion", 5.0, minutes=3)) is CatalogueChange.STALE
    assert len(index) == 0


def test_categories_follow_moves_between_categories() -> None:
    index = CatalogueIndex([item("p1", "Mug", "home", 9.0), item("p2", "Cap", "fashion", 9.0)])
    index.apply(item("p1", "Mug", "kitchen", 9.0, minutes=1))
    assert index.categories == ("fashion", "kitchen")


def test_lookups_and_id_validation() -> None:
    index = CatalogueIndex(SHOP)
    with pytest.raises(UnknownProductError):
        index.require("p99999")
    assert index.known(["p00001", "nope", "p00001", "p00002"]) == (("p00001", "p00002"), ("nope",))
    assert [i.product_id for i in index.items()] == sorted(i.product_id for i in SHOP)
    assert is_valid_product_id("SKU-1") and not is_valid_product_id("x" * 129) and not is_valid_product_id("a\tb")


def test_apply_many_counts_and_the_index_pickles() -> None:
    index = CatalogueIndex()
    counts = index.apply_many([*SHOP, SHOP[0]])
    assert counts == Counter({CatalogueChange.ADDED: len(SHOP), CatalogueChange.STALE: 1})
    clone = pickle.loads(pickle.dumps(index))
    assert clone.categories == index.categories and clone.get("p00003") == index.get("p00003")
