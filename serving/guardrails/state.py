"""Guard state (per user, and shared by a worker partition) and its pure updates from decisions and dismissals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.decisions import Action, InterventionType
from serving.guardrails.config import GuardrailConfig
from serving.guardrails.fairness import FairnessMonitor
from serving.guardrails.windows import BucketWindow

__all__ = [
    "GuardContext",
    "InterventionRecord",
    "SharedGuardState",
    "UserGuardState",
    "apply_decision",
    "apply_dismissal",
    "discount_value",
]

FeatureRow = Mapping[str, object]

_SPENT = "discount_value"


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What the guardrails know about one decision besides the candidates and the guard state.

    Attributes:
        now_s: the decision's event time, epoch seconds (the trigger's clock; never the wall clock).
        session_id: the session deciding.
        trigger: the trigger event's type.
        user_row: the user's feature row, ``None`` when there is none (anonymous, new).
        session_row: the session's feature row.
        product_rows: product feature rows by id (``stock``).
        group: the user's group of the fairness attribute, from the agent's attribute lookup (``None`` when unknown
            or when fairness is off). Never a policy input.
    """

    now_s: float
    session_id: str
    trigger: str
    user_row: FeatureRow | None = None
    session_row: FeatureRow | None = None
    product_rows: Mapping[str, FeatureRow] = field(default_factory=dict)
    group: str | None = None


@dataclass(frozen=True, slots=True)
class InterventionRecord:
    """One intervention decided for a user."""

    t_s: float
    session_id: str
    type: InterventionType
    discount_value: float = 0.0


@dataclass(frozen=True, slots=True)
class UserGuardState:
    """A user's recent interventions (newest last, within a rolling day, bounded) and dismissals. Picklable."""

    interventions: tuple[InterventionRecord, ...] = ()
    last_dismissal_s: float | None = None
    dismissals: int = 0

    def recent(self, now_s: float, day_s: float) -> tuple[InterventionRecord, ...]:
        """Interventions in the rolling day ending at ``now_s``."""
        return tuple(r for r in self.interventions if now_s - day_s < r.t_s <= now_s)

    def in_session(self, session_id: str, now_s: float, day_s: float) -> int:
        """Interventions of ``session_id`` in the rolling day."""
        return sum(1 for r in self.recent(now_s, day_s) if r.session_id == session_id)

    def discounts(self, now_s: float, day_s: float) -> tuple[int, float]:
        """Discount offers and their costed value in the rolling day."""
        offers = [r for r in self.recent(now_s, day_s) if r.type is InterventionType.DISCOUNT]
        return len(offers), sum(r.discount_value for r in offers)


@dataclass(frozen=True, slots=True)
class SharedGuardState:
    """Guard state shared by the users of one worker partition: the global discount budget and fairness counts."""

    budget: BucketWindow
    fairness: FairnessMonitor

    @classmethod
    def for_config(cls, config: GuardrailConfig) -> SharedGuardState:
        """Empty windows sized by ``config``."""
        return cls(
            BucketWindow(config.budget_bucket_s, config.budget_buckets),
            FairnessMonitor.for_config(config.fairness),
        )

    def discount_spent(self, now_s: float) -> float:
        """Discount value offered in the global window ending at ``now_s``."""
        return self.budget.totals(now_s).get(_SPENT, 0.0)


def discount_value(action: Action, session_row: FeatureRow | None, config: GuardrailConfig) -> float:
    """What a discount is costed at: ``pct / 100 * max(cart_value, min_discount_basis)`` (0 for other actions).

    >>> discount_value(Action(type=InterventionType.DISCOUNT, discount_pct=10.0), {"cart_value": 80.0},
    ...                GuardrailConfig())
    8.0
    """
    if action.type is not InterventionType.DISCOUNT or not action.discount_pct:
        return 0.0
    cart = session_row.get("cart_value") if session_row is not None else None
    basis = float(cart) if isinstance(cart, int | float) and not isinstance(cart, bool) else 0.0
    return action.discount_pct / 100.0 * max(basis, config.min_discount_basis)


def apply_decision(
    user: UserGuardState,
    shared: SharedGuardState,
    action: Action,
    context: GuardContext,
    config: GuardrailConfig,
) -> tuple[UserGuardState, SharedGuardState]:
    """The guard state after a decision was made (the inputs are not modified).

    Every decision with a ``context.group`` is counted by the fairness monitor (``none`` included); an intervention
    is remembered for the caps (pruned to the rolling day and ``max_user_records``); a discount's costed value is
    charged to the user's day and the global window.
    """
    now = context.now_s
    if context.group is not None and config.fairness.attribute is not None:
        offered = action.type is InterventionType.DISCOUNT
        shared = SharedGuardState(shared.budget, shared.fairness.record(context.group, offered, now))
    if action.type is InterventionType.NONE:
        return user, shared
    value = discount_value(action, context.session_row, config)
    if value > 0:
        shared = SharedGuardState(shared.budget.add(now, {_SPENT: value}), shared.fairness)
    record = InterventionRecord(now, context.session_id, action.type, value)
    kept = (*(r for r in user.interventions if r.t_s > now - config.day_s), record)
    user = UserGuardState(kept[-config.max_user_records :], user.last_dismissal_s, user.dismissals)
    return user, shared


def apply_dismissal(user: UserGuardState, now_s: float) -> UserGuardState:
    """The user's guard state after an ``intervention_dismiss`` at event time ``now_s`` (starts the cool-down)."""
    last = now_s if user.last_dismissal_s is None else max(user.last_dismissal_s, now_s)
    return UserGuardState(user.interventions, last, user.dismissals + 1)
