"""Per-user streaming state (keyed by the partition key: ``user_id``, else ``anonymous_id``) for ``USER_FEATURES``.

Every feature is a function of the set of the user's events (arrival order never matters). Definitions:

- BG/NBD summary, on continuous event time: ``frequency`` = distinct UTC calendar days with a purchase, minus 1;
  ``recency_days`` = last purchase time minus first purchase time; ``t_days`` = ``now`` minus first purchase
  time (0 for both when the user never bought). ``monetary`` = mean ``order_value`` of the orders placed on
  days after the first purchase day (0 when none). lifetimes' ``summary_data_from_transaction_data`` floors
  times to days and averages per-day sums; here recency/T stay continuous and the mean is per order, as the
  contract states.
- ``purchase_count`` / ``average_order_value``: orders and their mean ``order_value`` (0 when none).
- ``top_category``: the category with most product views (ties: alphabetically first); ``category_affinity`` =
  its views over all the user's product views.
- ``discount_responsiveness``: clicks over impressions of interventions with ``intervention_type == "discount"``
  (0 without impressions, capped at 1).
- ``interventions_seen_1d`` / ``interventions_dismissed_1d``: impressions / dismissals (any type) with
  ``now - 1 day < t <= now``.
- ``consent_marketing``: the marketing consent stated by the latest ``email_signup`` (``consent_marketing``) or
  ``consent_update`` with ``marketing`` set (ties by ``event_id``); False if none.
- ``consent_personalisation``: ``personalisation`` of the latest ``consent_update`` that sets it; False if none.
"""

from __future__ import annotations

from typing import Final

from schemas.events import (
    ConsentUpdate,
    EmailSignup,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    ProductView,
    Purchase,
)
from streams.features.rows import FeatureRow
from streams.features.windows import MICROS_PER_DAY, SlidingWindow

__all__ = ["DISCOUNT", "UserState"]

DISCOUNT: Final = "discount"
"""The ``intervention_type`` that ``discount_responsiveness`` is about."""

_USER_EVENTS: Final = frozenset(
    {ProductView, Purchase, InterventionImpression, InterventionClick, InterventionDismiss, EmailSignup, ConsentUpdate}
)


class UserState:
    """The streaming state of one user (one partition key).

    >>> from datetime import datetime, timezone
    >>> from schemas.events import LineItem, Purchase
    >>> def order(oid, t, value):
    ...     return Purchase(event_id=oid, event_time=datetime(2025, 3, 1, tzinfo=timezone.utc), schema_version=1,
    ...                     session_id="s", user_id="u", order_id=oid, order_value=value,
    ...                     items=[LineItem(product_id="p", quantity=1, unit_price=value)])
    >>> user = UserState()
    >>> for oid, day, value in (("o1", 0.0, 10.0), ("o2", 0.5, 20.0), ("o3", 2.0, 40.0)):
    ...     _ = user.update(order(oid, 0, value), t=int(day * MICROS_PER_DAY), horizon=0)
    >>> row = user.row(now=4 * MICROS_PER_DAY)
    >>> row["frequency"], row["recency_days"], row["t_days"], row["monetary"], row["average_order_value"]
    (1, 2.0, 4.0, 40.0, 23.333333333333332)
    """

    __slots__ = (
        "_category_views",
        "_consent_key",
        "_day_orders",
        "_day_values",
        "_personalisation_key",
        "consent",
        "discount_clicks",
        "discount_impressions",
        "dismissed",
        "first_purchase_t",
        "last_purchase_t",
        "order_value_total",
        "orders",
        "personalisation",
        "product_views",
        "seen",
    )

    def __init__(self) -> None:
        self.orders = 0
        self.order_value_total = 0.0
        self.first_purchase_t = 0
        self.last_purchase_t = 0
        self._day_orders: dict[int, int] = {}
        self._day_values: dict[int, float] = {}
        self.product_views = 0
        self._category_views: dict[str, int] = {}
        self.discount_impressions = 0
        self.discount_clicks = 0
        self.seen = SlidingWindow(MICROS_PER_DAY)
        self.dismissed = SlidingWindow(MICROS_PER_DAY)
        self.consent = False
        self._consent_key: tuple[int, str] | None = None
        self.personalisation = False
        self._personalisation_key: tuple[int, str] | None = None

    def update(self, event: Event, t: int, horizon: int) -> bool:
        """Fold one of the user's events in.

        Args:
            event: any event of this partition key.
            t: its event time in microseconds.
            horizon: the earliest ``now`` a later read may ask for (watermark minus allowed lateness);
                window entries no such read can see are dropped.

        Returns:
            Whether the event changed the user's state (only some event types do).
        """
        cls = type(event)
        if cls not in _USER_EVENTS:
            return False
        if isinstance(event, ProductView):
            self.product_views += 1
            if event.category is not None:
                self._category_views[event.category] = self._category_views.get(event.category, 0) + 1
        elif isinstance(event, Purchase):
            if self.orders == 0:
                self.first_purchase_t = self.last_purchase_t = t
            else:
                self.first_purchase_t = min(self.first_purchase_t, t)
                self.last_purchase_t = max(self.last_purchase_t, t)
            self.orders += 1
            self.order_value_total += event.order_value
            day = t // MICROS_PER_DAY
            self._day_orders[day] = self._day_orders.get(day, 0) + 1
            self._day_values[day] = self._day_values.get(day, 0.0) + event.order_value
        elif isinstance(event, InterventionImpression):
            self.seen.add(t)
            self.seen.prune(horizon - MICROS_PER_DAY)
            if event.intervention_type == DISCOUNT:
                self.discount_impressions += 1
        elif isinstance(event, InterventionClick):
            if event.intervention_type == DISCOUNT:
                self.discount_clicks += 1
        elif isinstance(event, InterventionDismiss):
            self.dismissed.add(t)
            self.dismissed.prune(horizon - MICROS_PER_DAY)
        elif isinstance(event, EmailSignup):
            self._state_marketing((t, event.event_id), event.consent_marketing)
        elif isinstance(event, ConsentUpdate):
            key = (t, event.event_id)
            if event.marketing is not None:
                self._state_marketing(key, event.marketing)
            if event.personalisation is not None and (
                self._personalisation_key is None or key > self._personalisation_key
            ):
                self._personalisation_key = key
                self.personalisation = event.personalisation
        return True

    def _state_marketing(self, key: tuple[int, str], granted: bool) -> None:
        if self._consent_key is None or key > self._consent_key:
            self._consent_key = key
            self.consent = granted

    def _top_category(self) -> tuple[str, float]:
        if not self._category_views:
            return "", 0.0
        top, views = min(self._category_views.items(), key=lambda kv: (-kv[1], kv[0]))
        return top, views / self.product_views

    def row(self, now: int) -> FeatureRow:
        """The user's ``USER_FEATURES`` row at event time ``now`` (microseconds)."""
        orders = self.orders
        if orders:
            first_day = self.first_purchase_t // MICROS_PER_DAY
            repeat_orders = orders - self._day_orders[first_day]
            repeat_value = self.order_value_total - self._day_values[first_day]
            frequency = len(self._day_orders) - 1
            recency = (self.last_purchase_t - self.first_purchase_t) / MICROS_PER_DAY
            age = (now - self.first_purchase_t) / MICROS_PER_DAY
            monetary = repeat_value / repeat_orders if repeat_orders else 0.0
            aov = self.order_value_total / orders
        else:
            frequency, recency, age, monetary, aov = 0, 0.0, 0.0, 0.0, 0.0
        top, affinity = self._top_category()
        impressions = self.discount_impressions
        return {
            "frequency": frequency,
            "recency_days": recency,
            "t_days": age,
            "monetary": monetary,
            "purchase_count": orders,
            "average_order_value": aov,
            "top_category": top,
            "category_affinity": affinity,
            "discount_responsiveness": min(1.0, self.discount_clicks / impressions) if impressions else 0.0,
            "interventions_seen_1d": self.seen.total(now),
            "interventions_dismissed_1d": self.dismissed.total(now),
            "consent_marketing": self.consent,
            "consent_personalisation": self.personalisation,
        }
