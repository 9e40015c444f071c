"""Embedding retrieval: cosine top-k, filters, demotion, incremental sync; lexical fallback."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from serving.concierge import (
    CatalogueIndex,
    Constraints,
    EmbeddingShapeError,
    Hit,
    RetrievalIndex,
    check_embeddings,
    item_text,
)
from tests.unit.test_concierge_support import EMBED, SHOP, catalogue, item


def _index() -> RetrievalIndex:
    index = RetrievalIndex()
    index.sync(catalogue(), EMBED)
    return index


def _ids(hits: list[Hit]) -> list[str]:
    return [h.item.product_id for h in hits]


def test_top_k_is_the_most_similar_item_first() -> None:
    index = _index()
    hits = index.search(EMBED(["gripping thriller novel"])[0], k=3)
    assert _ids(hits)[0] == "p00003"
    assert len(hits) == 3
    assert hits[0].score >= hits[1].score >= hits[2].score


@pytest.mark.parametrize(
    ("constraints", "allowed"),
    [
        (Constraints(category="books"), {"p00003", "p00004"}),
        (Constraints(max_price=10.0), {"p00004", "p00006"}),
        (Constraints(min_price=100.0), {"p00007"}),
        (Constraints(category="home", in_stock=True), {"p00006"}),
        (Constraints(category="HOME"), {"p00005", "p00006"}),
    ],
)
def test_filters_are_hard(constraints: Constraints, allowed: set[str]) -> None:
    hits = _index().search(EMBED(["something nice"])[0], k=10, constraints=constraints)
    assert set(_ids(hits)) == allowed


def test_min_score_floor_and_demotion() -> None:
    index = _index()
    query = EMBED(["gripping thriller novel"])[0]
    assert _ids(index.search(query, k=10, min_score=0.99)) == []
    demoted = index.search(query, k=8, demote={"p00003"})
    assert _ids(demoted)[-1] == "p00003"


def test_ties_are_broken_by_product_id() -> None:
    index = RetrievalIndex()
    shop = CatalogueIndex([item("b", "Same", "x", 1.0), item("a", "Same", "x", 1.0)])
    index.sync(shop, EMBED)
    assert _ids(index.search(EMBED(["Same"])[0], k=2)) == ["a", "b"]


def test_sync_embeds_only_new_or_rewritten_items_and_removes_inactive() -> None:
    shop = catalogue()
    index = RetrievalIndex()
    first = index.sync(shop, EMBED)
    assert len(first.to_embed) == len(SHOP) and len(index) == len(SHOP)
    assert index.plan_sync(shop).empty
    shop.apply(item("p00003", "Crime novel", "books", 10.0, description="A gripping thriller set in Oslo.", minutes=1))
    shop.apply(item("p00004", "Sea poems", "books", 9.99, minutes=1))
    shop.apply(item("p00001", "Trail running shoe", "sports", 79.0, active=False, minutes=1))
    plan = index.plan_sync(shop)
    assert [i.product_id for i in plan.to_refresh] == ["p00003"]
    assert [i.product_id for i in plan.to_embed] == ["p00004"]
    assert plan.to_remove == ("p00001",)
    index.sync(shop, EMBED)
    assert "p00001" not in index and len(index) == len(SHOP) - 1
    assert _ids(index.search(EMBED(["Sea poems"])[0], k=1)) == ["p00004"]
    top = index.search(EMBED(["gripping thriller"])[0], k=1)[0]
    assert top.item.price == 10.0


def test_vectors_are_checked() -> None:
    index = _index()
    with pytest.raises(EmbeddingShapeError):
        index.search(np.ones(7), k=1)
    with pytest.raises(EmbeddingShapeError):
        check_embeddings(np.full((1, 4), np.nan), 1)
    with pytest.raises(EmbeddingShapeError):
        check_embeddings(np.ones((2, 4)), 3)
    assert np.allclose(np.linalg.norm(check_embeddings(np.ones((2, 4)) * 3, 2), axis=1), 1.0)


def test_lexical_search_needs_a_shared_word_unless_filtered() -> None:
    index = _index()
    assert _ids(index.search_lexical("poems about the sea", k=2))[0] == "p00004"
    assert index.search_lexical("zzz", k=3) == []
    assert set(_ids(index.search_lexical("zzz", k=5, constraints=Constraints(category="books")))) == {
        "p00003",
        "p00004",
    }


def test_item_text_and_pickling() -> None:
    assert item_text(SHOP[0]) == "Trail running shoe. sports. Grippy outsole for muddy trails."
    index = _index()
    clone = pickle.loads(pickle.dumps(index))
    query = EMBED(["earbuds"])[0]
    assert _ids(clone.search(query, k=3)) == _ids(index.search(query, k=3))
