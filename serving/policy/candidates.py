"""Candidate generation: at most K actions per decision, product slots filled from co-purchase, CF and popularity."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from schemas.decisions import Action, InterventionType
from serving.models.inputs import FeatureRow
from serving.models.suite import offer_item
from serving.policy.actions import ActionSpace, fixed_actions

__all__ = [
    "AcceptanceFn",
    "Candidate",
    "CandidateSources",
    "Relation",
    "generate_candidates",
]

AcceptanceFn = Callable[[str, str], float]
"""P(user accepts an offer of item), e.g. ``ModelSuite.offers.predict_proba_one``; items as ``offer_item`` names."""


class Relation(StrEnum):
    """Why a product or category is a candidate, relative to the shopper's context (flags of the action vector)."""

    CO_PURCHASED_CURRENT = "co_purchased_current"
    CO_PURCHASED_CART = "co_purchased_cart"
    POPULAR = "popular"
    SAME_CATEGORY = "same_category"
    USER_TOP_CATEGORY = "user_top_category"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One action a policy may choose, with what the generator knew about it.

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
    """

    user_key: str | None = None
    current_product_id: str | None = None
    cart_product_ids: tuple[str, ...] = ()
    product_rows: Mapping[str, FeatureRow] = field(default_factory=dict)
    popular: tuple[str, ...] = ()
    acceptance: AcceptanceFn | None = None
    user_top_category: str | None = None

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


def _pool(sources: CandidateSources, space: ActionSpace) -> tuple[dict[str, set[Relation]], dict[str, int]]:
    """Products to offer, in source order (current product's neighbours, cart's neighbours, popularity)."""
    excluded = set(sources.cart_product_ids)
    if sources.current_product_id:
        excluded.add(sources.current_product_id)
    pool: dict[str, set[Relation]] = {}

    def add(product_id: str, relation: Relation) -> None:
        if product_id not in excluded:
            pool.setdefault(product_id, set()).add(relation)

    if sources.current_product_id:
        for pid in _co_purchased(sources, sources.current_product_id):
            add(pid, Relation.CO_PURCHASED_CURRENT)
    for cart_pid in sources.cart_product_ids:
        for pid in _co_purchased(sources, cart_pid):
            add(pid, Relation.CO_PURCHASED_CART)
    ranks: dict[str, int] = {}
    for rank, pid in enumerate(sources.popular[: space.max_popular]):
        if pid:
            add(pid, Relation.POPULAR)
            ranks.setdefault(pid, rank)
    return pool, ranks


def _acceptance(sources: CandidateSources, item: str) -> float | None:
    if sources.acceptance is None or not sources.user_key:
        return None
    return float(sources.acceptance(sources.user_key, item))


def _context_relations(sources: CandidateSources, category: str | None, anchor_category: str | None) -> set[Relation]:
    relations: set[Relation] = set()
    if category is not None and category == anchor_category:
        relations.add(Relation.SAME_CATEGORY)
    if category is not None and category == (sources.user_top_category or None):
        relations.add(Relation.USER_TOP_CATEGORY)
    return relations


def generate_candidates(sources: CandidateSources, space: ActionSpace | None = None) -> tuple[Candidate, ...]:
    """At most ``space.max_candidates`` candidates, deterministically, ``none`` first.

    Order: the fixed actions (none, checkout nudge, email capture, concierge message, one discount per level), then
    product offers, then cross-sell categories. The product pool is the current product's ``co_purchased``
    neighbours, the cart products' neighbours, then the popularity list (its first ``max_popular``), without the
    current product and the cart; it is ranked by CF acceptance (highest first) when there is a CF source and a user,
    ties and the no-CF case keeping pool order. A product in a different category than the anchor product (current,
    else first in the cart) is offered as a ``cross_sell``, otherwise as an ``upsell``. Categories are the user's top
    category and the ranked products' categories, except the anchor's, at most ``max_categories``; they take their
    share of the K slots before products do.

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
    k = space.max_candidates
    fixed = fixed_actions(space)[:k]
    items = {a: offer_item(None, a.type.value) for a in fixed}  # the discount levels share one CF item
    scores = {item: _acceptance(sources, item) for item in dict.fromkeys(items.values())}
    out = [Candidate(action=a, acceptance=scores[items[a]]) for a in fixed]
    remaining = k - len(out)
    offers_products = space.offers(InterventionType.UPSELL) or space.offers(InterventionType.CROSS_SELL)
    if remaining <= 0 or not offers_products:
        return tuple(out)

    anchor_category = sources.category_of(sources.anchor_product_id)
    pool, ranks = _pool(sources, space)
    scored = [(pid, _acceptance(sources, pid), order) for order, pid in enumerate(pool)]
    scored.sort(key=lambda item: (-(item[1] if item[1] is not None else 0.0), item[2]))
    category_of = {pid: sources.category_of(pid) for pid in pool}

    categories: list[str] = []
    if space.offers(InterventionType.CROSS_SELL):
        seen = [sources.user_top_category or None] + [category_of[pid] for pid, _, _ in scored]
        for category in seen:
            if category is not None and category != anchor_category and category not in categories:
                categories.append(category)
    categories = categories[: min(space.max_categories, remaining)]

    products: list[Candidate] = []
    for pid, acceptance, _ in scored:
        if len(products) >= remaining - len(categories):
            break
        category = category_of[pid]
        crossing = category is not None and anchor_category is not None and category != anchor_category
        kind = InterventionType.CROSS_SELL if crossing else InterventionType.UPSELL
        if not space.offers(kind):
            continue
        relations = pool[pid] | _context_relations(sources, category, anchor_category)
        action = Action(type=kind, product_id=pid, category=category)
        products.append(Candidate(action, acceptance, frozenset(relations), ranks.get(pid)))

    category_acceptance = _acceptance(sources, offer_item(None, InterventionType.CROSS_SELL.value))
    for category in categories:
        action = Action(type=InterventionType.CROSS_SELL, category=category)
        context = frozenset(_context_relations(sources, category, anchor_category))
        products.append(Candidate(action, category_acceptance, context))
    return tuple(out + products)
