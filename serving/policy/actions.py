"""The two-level action space: an intervention type, then its slot (a product, a category or a discount level)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schemas.decisions import Action, InterventionType
from serving.policy.errors import PolicyConfigError

__all__ = [
    "DEFAULT_DISCOUNT_LEVELS",
    "DEFAULT_MAX_CANDIDATES",
    "INTERVENTION_TYPES",
    "NO_ACTION",
    "ActionSpace",
    "Slot",
    "action_key",
    "fixed_actions",
    "slot_of",
    "slots_of",
]

INTERVENTION_TYPES: Final[tuple[InterventionType, ...]] = tuple(InterventionType)
"""Every intervention type, in the fixed order of the type one-hot of the action vector."""

DEFAULT_DISCOUNT_LEVELS: Final = (5.0, 10.0, 15.0)
"""Percent-off levels a discount may take unless configured otherwise."""

DEFAULT_MAX_CANDIDATES: Final = 25
"""K: most candidate actions per decision (the width of the policy's candidate axis)."""

NO_ACTION: Final = Action(type=InterventionType.NONE)
"""Do nothing. Always candidate 0, never masked by a guardrail."""


class Slot(StrEnum):
    """What the second level of an action names."""

    NONE = "none"
    PRODUCT = "product"
    CATEGORY = "category"
    DISCOUNT_LEVEL = "discount_level"


_SLOTS: Final[dict[InterventionType, tuple[Slot, ...]]] = {
    InterventionType.NONE: (Slot.NONE,),
    InterventionType.UPSELL: (Slot.PRODUCT,),
    InterventionType.CROSS_SELL: (Slot.PRODUCT, Slot.CATEGORY),
    InterventionType.DISCOUNT: (Slot.DISCOUNT_LEVEL,),
    InterventionType.CHECKOUT_NUDGE: (Slot.NONE,),
    InterventionType.EMAIL_CAPTURE: (Slot.NONE,),
    InterventionType.CONCIERGE_MESSAGE: (Slot.NONE,),
}


@dataclass(frozen=True, slots=True)
class ActionSpace:
    """Which interventions exist and how their slots are filled.

    Args:
        discount_levels: the percent-off levels of discount actions, ascending, each in (0, 100].
        types: the intervention types offered (``none`` is always offered).
        max_candidates: K, the most candidates per decision (fixed actions included).
        max_categories: most cross-sell *category* candidates per decision.
        max_popular: how deep the popularity list is read into the product pool.

    Raises:
        PolicyConfigError: an empty or unsorted level list, a level out of range, or a non-positive size.

    >>> space = ActionSpace(discount_levels=(10.0, 20.0))
    >>> [action_key(a) for a in fixed_actions(space)]
    ['none', 'checkout_nudge', 'email_capture', 'concierge_message', 'discount:10', 'discount:20']
    """

    discount_levels: tuple[float, ...] = DEFAULT_DISCOUNT_LEVELS
    types: frozenset[InterventionType] = frozenset(INTERVENTION_TYPES)
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    max_categories: int = 2
    max_popular: int = 20

    def __post_init__(self) -> None:
        levels = self.discount_levels
        if InterventionType.DISCOUNT in self.types and not levels:
            raise PolicyConfigError("discount actions need at least one level")
        if any(not 0.0 < level <= 100.0 for level in levels) or list(levels) != sorted(set(levels)):
            raise PolicyConfigError(f"discount levels must be distinct, ascending, in (0, 100]: {levels}")
        if self.max_candidates < 1 or self.max_categories < 0 or self.max_popular < 0:
            raise PolicyConfigError(f"bad sizes: {self.max_candidates=} {self.max_categories=} {self.max_popular=}")

    def offers(self, kind: InterventionType) -> bool:
        """Whether actions of ``kind`` are part of this space (``none`` always is)."""
        return kind is InterventionType.NONE or kind in self.types


def slot_of(action: Action) -> Slot:
    """The slot an action fills.

    >>> slot_of(Action(type=InterventionType.CROSS_SELL, category="shoes"))
    <Slot.CATEGORY: 'category'>
    """
    if action.product_id is not None:
        return Slot.PRODUCT
    if action.type is InterventionType.DISCOUNT:
        return Slot.DISCOUNT_LEVEL
    if action.category is not None:
        return Slot.CATEGORY
    return Slot.NONE


def action_key(action: Action) -> str:
    """A stable, readable key of an action: type, then its slot (logs, de-duplication, replay comparisons).

    >>> action_key(Action(type=InterventionType.UPSELL, product_id="p9", category="shoes"))
    'upsell:p9'
    >>> action_key(Action(type=InterventionType.CROSS_SELL, category="socks"))
    'cross_sell:category=socks'
    >>> action_key(Action(type=InterventionType.DISCOUNT, discount_pct=7.5))
    'discount:7.5'
    """
    slot = slot_of(action)
    if slot is Slot.PRODUCT:
        return f"{action.type.value}:{action.product_id}"
    if slot is Slot.CATEGORY:
        return f"{action.type.value}:category={action.category}"
    if slot is Slot.DISCOUNT_LEVEL:
        return f"{action.type.value}:{action.discount_pct or 0.0:g}"
    return action.type.value


def fixed_actions(space: ActionSpace) -> tuple[Action, ...]:
    """The candidates every decision gets: none, the slot-less interventions, then one discount per level.

    Discounts are cart-level (no product): the storefront applies the percentage to the order.
    """
    actions = [NO_ACTION]
    for kind in (InterventionType.CHECKOUT_NUDGE, InterventionType.EMAIL_CAPTURE, InterventionType.CONCIERGE_MESSAGE):
        if space.offers(kind):
            actions.append(Action(type=kind))
    if space.offers(InterventionType.DISCOUNT):
        actions.extend(Action(type=InterventionType.DISCOUNT, discount_pct=level) for level in space.discount_levels)
    return tuple(actions)


def slots_of(kind: InterventionType) -> tuple[Slot, ...]:
    """The slots an intervention type can fill (``cross_sell``: a product or a category)."""
    return _SLOTS[kind]
