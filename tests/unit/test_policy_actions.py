"""The action space and candidate generation: K bound, order, sources, upsell vs cross-sell, determinism."""

from __future__ import annotations

import pytest

from schemas.decisions import Action, InterventionType
from serving.policy import (
    NO_ACTION,
    ActionSpace,
    CandidateSources,
    PolicyConfigError,
    Relation,
    Slot,
    action_key,
    fixed_actions,
    generate_candidates,
    slot_of,
    slots_of,
)

ROWS = {
    "shoe-1": {"category": "shoes", "price": 60.0, "co_purchased": ["sock-1", "shoe-2", "lace-1"]},
    "shoe-2": {"category": "shoes", "price": 90.0, "co_purchased": ["sock-2"]},
    "sock-1": {"category": "socks", "price": 6.0},
    "sock-2": {"category": "socks", "price": 8.0},
    "lace-1": {"category": "laces", "price": 3.0},
    "hat-1": {"category": "hats", "price": 20.0},
    "cart-1": {"category": "shoes", "price": 70.0, "co_purchased": ["hat-1", "shoe-1"]},
}
POPULAR = tuple(f"pop-{i}" for i in range(60))


def _keys(candidates: tuple[object, ...]) -> list[str]:
    return [action_key(c.action) for c in candidates]  # type: ignore[attr-defined]


def test_fixed_actions_cover_every_slotless_type_and_each_discount_level() -> None:
    keys = [action_key(a) for a in fixed_actions(ActionSpace())]
    assert keys == [
        "none",
        "checkout_nudge",
        "email_capture",
        "concierge_message",
        "discount:5",
        "discount:10",
        "discount:15",
    ]
    custom = ActionSpace(discount_levels=(20.0,), types=frozenset({InterventionType.DISCOUNT}))
    assert [action_key(a) for a in fixed_actions(custom)] == ["none", "discount:20"]


@pytest.mark.parametrize(
    ("kwargs", "ok"),
    [
        ({"discount_levels": ()}, False),
        ({"discount_levels": (10.0, 5.0)}, False),
        ({"discount_levels": (0.0,)}, False),
        ({"discount_levels": (101.0,)}, False),
        ({"discount_levels": (5.0, 5.0)}, False),
        ({"max_candidates": 0}, False),
        ({"discount_levels": (), "types": frozenset({InterventionType.UPSELL})}, True),
        ({"discount_levels": (2.5, 7.5, 50.0)}, True),
    ],
)
def test_action_space_validation(kwargs: dict[str, object], ok: bool) -> None:
    if ok:
        ActionSpace(**kwargs)  # type: ignore[arg-type]
    else:
        with pytest.raises(PolicyConfigError):
            ActionSpace(**kwargs)  # type: ignore[arg-type]


def test_slots_of_the_two_levels() -> None:
    assert slots_of(InterventionType.CROSS_SELL) == (Slot.PRODUCT, Slot.CATEGORY)
    assert slot_of(NO_ACTION) is Slot.NONE
    assert slot_of(Action(type=InterventionType.UPSELL, product_id="p")) is Slot.PRODUCT
    assert slot_of(Action(type=InterventionType.DISCOUNT, discount_pct=5.0)) is Slot.DISCOUNT_LEVEL


def test_at_most_k_candidates_none_first_and_unique() -> None:
    sources = CandidateSources(
        user_key="u1", current_product_id="shoe-1", cart_product_ids=("cart-1",), product_rows=ROWS, popular=POPULAR
    )
    for k in (1, 3, 7, 10, 25, 40):
        candidates = generate_candidates(sources, ActionSpace(max_candidates=k))
        keys = _keys(candidates)
        assert len(candidates) <= k
        assert keys[0] == "none"
        assert len(set(keys)) == len(keys)
    assert len(generate_candidates(sources)) == 25


def test_pool_order_exclusions_and_relations_without_cf() -> None:
    sources = CandidateSources(
        current_product_id="shoe-1",
        cart_product_ids=("cart-1",),
        product_rows=ROWS,
        popular=("hat-1", "shoe-1", "pop-0"),
        user_top_category="hats",
    )
    candidates = generate_candidates(sources)
    products = [c for c in candidates if c.action.product_id is not None]
    # current product's neighbours, then the cart's, then popularity; the current product and the cart left out
    assert [c.action.product_id for c in products] == ["sock-1", "shoe-2", "lace-1", "hat-1", "pop-0"]
    by_id = {c.action.product_id: c for c in products}
    assert by_id["sock-1"].action.type is InterventionType.CROSS_SELL  # another category than the anchor's
    assert by_id["shoe-2"].action.type is InterventionType.UPSELL  # same category
    assert by_id["pop-0"].action.type is InterventionType.UPSELL  # unknown category: upsell
    assert by_id["shoe-2"].relations == {Relation.CO_PURCHASED_CURRENT, Relation.SAME_CATEGORY}
    assert by_id["hat-1"].relations == {Relation.CO_PURCHASED_CART, Relation.POPULAR, Relation.USER_TOP_CATEGORY}
    assert by_id["hat-1"].popularity_rank == 0 and by_id["sock-1"].popularity_rank is None
    assert all(c.acceptance is None for c in candidates)
    categories = [c.action.category for c in candidates if c.action.product_id is None and c.action.category]
    assert categories == ["hats", "socks"]  # the user's top category first, at most max_categories, never the anchor's


def test_cf_ranks_the_pool_and_scores_every_candidate() -> None:
    scores = {"pop-3": 0.9, "sock-1": 0.2, "type:discount": 0.4}
    seen: list[tuple[str, str]] = []

    def acceptance(user: str, item: str) -> float:
        seen.append((user, item))
        return scores.get(item, 0.5)

    sources = CandidateSources(
        user_key="u7", current_product_id="shoe-1", product_rows=ROWS, popular=POPULAR[:5], acceptance=acceptance
    )
    candidates = generate_candidates(sources)
    products = [c.action.product_id for c in candidates if c.action.product_id is not None]
    assert products[0] == "pop-3"  # highest acceptance first
    assert products[-1] == "sock-1"  # lowest last; the 0.5 ties keep pool order
    assert products[1:3] == ["shoe-2", "lace-1"]
    assert {u for u, _ in seen} == {"u7"}
    discount = next(c for c in candidates if c.action.type is InterventionType.DISCOUNT)
    assert discount.acceptance == 0.4
    assert all(c.acceptance is not None for c in candidates)


def test_no_user_means_no_cf() -> None:
    sources = CandidateSources(current_product_id="shoe-1", product_rows=ROWS, acceptance=lambda u, i: 1.0)
    assert all(c.acceptance is None for c in generate_candidates(sources))


def test_generation_is_deterministic_and_does_not_mutate_inputs() -> None:
    rows = {k: dict(v) for k, v in ROWS.items()}
    sources = CandidateSources(
        user_key="u1",
        current_product_id="shoe-1",
        cart_product_ids=("cart-1",),
        product_rows=rows,
        popular=POPULAR,
        acceptance=lambda u, i: (len(i) % 7) / 7,
    )
    first = generate_candidates(sources)
    assert first == generate_candidates(sources)
    assert rows == ROWS


def test_disabled_types_are_not_generated() -> None:
    space = ActionSpace(types=frozenset({InterventionType.UPSELL}), discount_levels=())
    sources = CandidateSources(current_product_id="shoe-1", product_rows=ROWS, popular=POPULAR[:3])
    kinds = {c.action.type for c in generate_candidates(sources, space)}
    assert kinds == {InterventionType.NONE, InterventionType.UPSELL}


def test_empty_context_gives_only_fixed_actions() -> None:
    assert _keys(generate_candidates(CandidateSources())) == [action_key(a) for a in fixed_actions(ActionSpace())]
