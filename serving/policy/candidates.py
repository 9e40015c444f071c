"""Candidate generation: at most K actions per decision, product slots filled from co-purchase, CF and popularity."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from msgspec import Struct

from schemas.decisions import Action, InterventionType
from serving.models.inputs import FeatureRow
from serving.models.suite import offer_item
from serving.policy.actions import ActionSpace, fixed_actions

__all__ = [
    "AcceptanceFn",
    "AcceptanceManyFn",
    "Candidate",
    "CandidateSources",
    "Relation",
    "generate_candidates",
]

AcceptanceFn = Callable[[str, str], float]
"""P(user accepts an offer of item), e.g. ``ModelSuite.offers.predict_proba_one``; items as ``offer_item`` names."""

AcceptanceManyFn = Callable[[str, Sequence[str]], Sequence[float]]
"""P(user accepts an offer of each item), e.g. ``ModelSuite.offers.predict_proba_many``."""


class Relation(StrEnum):
    """Why a product or category is a candidate, relative to the shopper's context (flags of the action vector)."""

    CO_PURCHASED_CURRENT = "co_purchased_current"
    CO_PURCHASED_CART = "co_purchased_cart"
    POPULAR = "popular"
    SAME_CATEGORY = "same_category"
    USER_TOP_CATEGORY = "user_top_category"


class Candidate(Struct, frozen=True):
    """One action a policy may choose, with what the generator knew about it.

    An immutable msgspec ``Struct`` rather than the house's frozen dataclass: up to K are built per decision, and a
    frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) costs ~6x as much here.

    Attributes:
        action: the action itself.
        acceptance: the CF acceptance probability of the offer, ``None`` without a CF source or a user.
        relations: how the offered product or category relates to the shopper's context.
        popularity_rank: the product's 0-based position in the popularity list, if it is on it.
    """

    action: Action
    acceptance: float | None = None
    relations: frozenset[Relation] = frozenset()
    popularity_rank: int | None = None


@dataclass(frozen=True, slots=True)
class CandidateSources:
    """Everything candidate generation reads; nothing is fetched here.

    Attributes:
        user_key: ``user_id``, else ``anonymous_id`` (the CF user); ``None`` disables CF scores.
        current_product_id: the product being viewed, if any.
        cart_product_ids: products in the cart, in the order they were added.
        product_rows: product feature rows by id (``co_purchased``, ``category``, ...); missing ids are fine.
        popular: product ids ranked by popularity, best first.
        acceptance: the CF acceptance callable, or ``None``.
        user_top_category: the user's ``top_category`` ('' or ``None`` when unknown).
        acceptance_many: the CF acceptance of several items of one user in one call (e.g.
            ``ModelSuite.offers.predict_proba_many``), used instead of ``acceptance`` when set; it must agree with
            ``acceptance`` item by item.
    """

    user_key: str | None = None
    current_product_id: str | None = None
    cart_product_ids: tuple[str, ...] = ()
    product_rows: Mapping[str, FeatureRow] = field(default_factory=dict)
    popular: tuple[str, ...] = ()
    acceptance: AcceptanceFn | None = None
    user_top_category: str | None = None
    acceptance_many: AcceptanceManyFn | None = None

    @property
    def anchor_product_id(self) -> str | None:
        """The product offers are relative to: the one being viewed, else the first in the cart."""
        if self.current_product_id:
            return self.current_product_id
        return self.cart_product_ids[0] if self.cart_product_ids else None

    def category_of(self, product_id: str | None) -> str | None:
        """A product's category from its row (``None`` when unknown)."""
        row = self.product_rows.get(product_id) if product_id else None
        value = row.get("category") if row is not None else None
        return value if isinstance(value, str) and value else None


def _co_purchased(sources: CandidateSources, product_id: str) -> tuple[str, ...]:
    row = sources.product_rows.get(product_id)
    value = row.get("co_purchased") if row is not None else None
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


_RELATION_BITS: Final = {relation: 1 << i for i, relation in enumerate(Relation)}
_RELATION_SETS: dict[int, frozenset[Relation]] = {}


def _relations(bits: int) -> frozenset[Relation]:
    """The relation set of a bit mask (one shared frozenset per mask)."""
    found = _RELATION_SETS.get(bits)
    if found is None:
        found = _RELATION_SETS[bits] = frozenset(r for r, bit in _RELATION_BITS.items() if bits & bit)
    return found


def _pool(sources: CandidateSources, space: ActionSpace) -> tuple[dict[str, int], dict[str, int]]:
    """Products to offer, in source order (current product's neighbours, cart's neighbours, popularity), with their
    relations as bit masks, and the popularity ranks."""
    excluded = set(sources.cart_product_ids)
    if sources.current_product_id:
        excluded.add(sources.current_product_id)
    pool: dict[str, int] = {}

    def add(product_ids: Iterable[str], bit: int) -> None:
        for product_id in product_ids:
            if product_id not in excluded:
                pool[product_id] = pool.get(product_id, 0) | bit

    if sources.current_product_id:
        add(_co_purchased(sources, sources.current_product_id), _RELATION_BITS[Relation.CO_PURCHASED_CURRENT])
    for cart_pid in sources.cart_product_ids:
        add(_co_purchased(sources, cart_pid), _RELATION_BITS[Relation.CO_PURCHASED_CART])
    ranks: dict[str, int] = {}
    popular = [pid for pid in sources.popular[: space.max_popular] if pid]
    add(popular, _RELATION_BITS[Relation.POPULAR])
    for rank, pid in enumerate(sources.popular[: space.max_popular]):
        if pid:
            ranks.setdefault(pid, rank)
    return pool, ranks


def _acceptances(sources: CandidateSources, items: Sequence[str]) -> Sequence[float | None]:
    """CF acceptance of each item for the user (``None`` each without a CF source or a user)."""
    user, many, one = sources.user_key, sources.acceptance_many, sources.acceptance
    if user and many is not None:
        return [float(p) for p in many(user, items)]
    if user and one is not None:
        return [float(one(user, item)) for item in items]
    return [None] * len(items)


def _context_bits(category: str | None, anchor_category: str | None, top_category: str | None) -> int:
    bits = 0
    if category is not None:
        if category == anchor_category:
            bits |= _RELATION_BITS[Relation.SAME_CATEGORY]
        if category == top_category:
            bits |= _RELATION_BITS[Relation.USER_TOP_CATEGORY]
    return bits


@dataclass(frozen=True, slots=True)
class _Plan:
    """What candidate generation derives from an action space alone (computed once per space)."""

    fixed: tuple[Action, ...]
    fixed_items: tuple[str, ...]
    upsell: bool
    cross_sell: bool


_PLANS: dict[ActionSpace, _Plan] = {}


def _plan(space: ActionSpace) -> _Plan:
    plan = _PLANS.get(space)
    if plan is None:
        fixed = fixed_actions(space)[: space.max_candidates]
        items = tuple(offer_item(None, a.type.value) for a in fixed)
        plan = _Plan(fixed, items, space.offers(InterventionType.UPSELL), space.offers(InterventionType.CROSS_SELL))
        if len(_PLANS) < 64:  # spaces are configuration: a handful per process
            _PLANS[space] = plan
    return plan


def generate_candidates(sources: CandidateSources, space: ActionSpace | None = None) -> tuple[Candidate, ...]:
    """At most ``space.max_candidates`` candidates, deterministically, ``none`` first.

    Order: the fixed actions (none, checkout nudge, email capture, concierge message, one discount per level), then
    product offers, then cross-sell categories. The product pool is the current product's ``co_purchased``
    neighbours, the cart products' neighbours, then the popularity list (its first ``max_popular``), without the
    current product and the cart; it is ranked by CF acceptance (highest first) when there is a CF source and a user,
    ties and the no-CF case keeping pool order. A product in a different category than the anchor product (current,
    else first in the cart) is offered as a ``cross_sell``, otherwise as an ``upsell``. Categories are the user's top
    category and the ranked products' categories, except the anchor's, at most ``max_categories``; they take their
    share of the K slots before products do. CF acceptance is asked once per distinct item, in one
    ``acceptance_many`` call when the sources have one.

    Args:
        sources: the shopper's context and the candidate sources.
        space: the action space (default :class:`ActionSpace()`).

    Returns:
        The candidates; equal inputs give equal output (CF callables must be deterministic themselves).

    >>> rows = {"p1": {"category": "shoes", "co_purchased": ["p2", "p3"]}, "p2": {"category": "socks"}}
    >>> cands = generate_candidates(CandidateSources(current_product_id="p1", product_rows=rows, popular=("p4",)))
    >>> [(c.action.type.value, c.action.product_id or c.action.category) for c in cands[7:]]
    [('cross_sell', 'p2'), ('upsell', 'p3'), ('upsell', 'p4'), ('cross_sell', 'socks')]
    """
    space = space or ActionSpace()
    plan = _plan(space)
    k = space.max_candidates
    remaining = k - len(plan.fixed)
    products_offered = remaining > 0 and (plan.upsell or plan.cross_sell)
    pool, ranks = _pool(sources, space) if products_offered else ({}, {})
    # Every distinct CF item of the decision in one call: the fixed actions' (the discount levels share one), the
    # pool's products, and the category item.
    category_item = offer_item(None, InterventionType.CROSS_SELL.value)
    items = list(dict.fromkeys((*plan.fixed_items, *pool, *((category_item,) if products_offered else ()))))
    acceptance = dict(zip(items, _acceptances(sources, items), strict=True))
    out = [Candidate(a, acceptance[item]) for a, item in zip(plan.fixed, plan.fixed_items, strict=True)]
    if not products_offered:
        return tuple(out)

    rows = sources.product_rows
    anchor_category = sources.category_of(sources.anchor_product_id)
    # (-acceptance, pool order, id, acceptance, category), sorted: highest acceptance first, ties in pool order.
    ranked: list[tuple[float, int, str, float | None, str | None]] = []
    for order, pid in enumerate(pool):
        p = acceptance[pid]
        row = rows.get(pid)
        value = row.get("category") if row is not None else None
        category = value if isinstance(value, str) and value else None
        ranked.append((-(p if p is not None else 0.0), order, pid, p, category))
    ranked.sort()

    top_category = sources.user_top_category or None
    most = min(space.max_categories, remaining)
    categories: list[str] = []
    if plan.cross_sell and most > 0:
        for category in (top_category, *(entry[4] for entry in ranked)):
            if category is not None and category != anchor_category and category not in categories:
                categories.append(category)
                if len(categories) >= most:
                    break

    products: list[Candidate] = []
    room = remaining - len(categories)
    same_bit, top_bit = _RELATION_BITS[Relation.SAME_CATEGORY], _RELATION_BITS[Relation.USER_TOP_CATEGORY]
    for _, _, pid, p, category in ranked:
        if len(products) >= room:
            break
        crossing = category is not None and anchor_category is not None and category != anchor_category
        if not (plan.cross_sell if crossing else plan.upsell):
            continue
        kind = InterventionType.CROSS_SELL if crossing else InterventionType.UPSELL
        bits = pool[pid]
        if category is not None:  # _context_bits, inlined
            bits |= (same_bit if category == anchor_category else 0) | (top_bit if category == top_category else 0)
        action = Action(type=kind, product_id=pid, category=category)
        products.append(Candidate(action, p, _relations(bits), ranks.get(pid)))

    category_acceptance = acceptance[category_item]
    for category in categories:
        action = Action(type=InterventionType.CROSS_SELL, category=category)
        context = _relations(_context_bits(category, anchor_category, top_category))
        products.append(Candidate(action, category_acceptance, context))
    return tuple(out + products)
