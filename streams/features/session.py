"""Per-session streaming state: folds a session's events in (any order) and reads ``SESSION_FEATURES``.

Every feature is a function of the *set* of the session's events, never of their arrival order, so events that
arrive out of order within the allowed lateness give the same row. Definitions (times are event times):

- ``events_so_far``: events of the session, of any type.
- ``dwell_s``: latest minus earliest event time. ``idle_s``: latest minus second latest (0 with one event).
- ``page_switches_30s``: page and product views with ``latest - 30 s < t <= latest``.
- ``exit_intent``: the latest ``exit_intent`` is at or after the latest *activity*; every event is activity
  except ``exit_intent``, ``session_end`` and ``intervention_impression`` (shown by us, not done by the shopper).
- ``cart_value`` / ``cart_size``: per product, units added minus units removed (clipped at 0), valued at the unit
  price of the product's latest ``add_to_cart``; only cart events after the session's latest ``purchase`` count
  (a purchase empties the cart).
- ``categories_browsed``: distinct categories of product views and category-carrying page views.
- ``last_sentiment`` / ``last_intent``: :class:`~streams.features.text.TextSignals` of the latest chat message.
- Ties in "latest" are broken by ``event_id`` (largest wins), so the result never depends on arrival order.
"""

from __future__ import annotations

from typing import Final

from schemas.events import (
    AddToCart,
    ChatMessage,
    CheckoutStart,
    Event,
    ExitIntent,
    InterventionImpression,
    PageView,
    ProductView,
    Purchase,
    RemoveFromCart,
    Search,
    SessionEnd,
)
from streams.features.rows import FeatureRow
from streams.features.text import TextSignals
from streams.features.windows import MICROS_PER_SECOND, SlidingWindow, seconds

__all__ = ["PAGE_SWITCH_SPAN", "SessionState"]

PAGE_SWITCH_SPAN: Final = 30 * MICROS_PER_SECOND
"""Window of ``page_switches_30s``, in microseconds."""

_NO_TIME: Final = -(1 << 62)
_PASSIVE: Final = frozenset({ExitIntent, SessionEnd, InterventionImpression})


class SessionState:
    """The streaming state of one session.

    Args:
        session_id: the session this state belongs to.

    >>> from datetime import datetime, timezone
    >>> from schemas.events import PageView, Search
    >>> at = datetime(2025, 3, 1, tzinfo=timezone.utc)
    >>> state = SessionState("s1")
    >>> state.update(PageView(event_id="e1", event_time=at, schema_version=1, session_id="s1",
    ...                       anonymous_id="a1", page_type="home"), t=0, signals=None)
    >>> state.update(Search(event_id="e2", event_time=at, schema_version=1, session_id="s1",
    ...                     anonymous_id="a1", query="gift"), t=4_000_000, signals=None)
    >>> row = state.row()
    >>> row["events_so_far"], row["dwell_s"], row["idle_s"], row["page_switches_30s"], row["searches"]
    (2, 4.0, 4.0, 1, 1)
    """

    __slots__ = (
        "_cart",
        "_categories",
        "_chat_key",
        "_views",
        "activity_t",
        "checkout_started",
        "end_t",
        "events",
        "exit_t",
        "first_t",
        "intent",
        "last_t",
        "prev_t",
        "purchase_t",
        "searches",
        "sentiment",
        "session_id",
    )

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.events = 0
        self.first_t = 1 << 62
        self.last_t = _NO_TIME
        self.prev_t = _NO_TIME
        self.activity_t = _NO_TIME
        self.exit_t = _NO_TIME
        self.end_t = _NO_TIME
        self.purchase_t = _NO_TIME
        self.searches = 0
        self.checkout_started = False
        self.sentiment = 0.0
        self.intent = ""
        self._chat_key: tuple[int, str] | None = None
        self._views = SlidingWindow(PAGE_SWITCH_SPAN)
        self._categories: set[str] = set()
        # (t, event_id, product_id, unit delta, unit price of an add or None for a remove)
        self._cart: list[tuple[int, str, str, int, float | None]] = []

    def update(self, event: Event, t: int, signals: TextSignals | None) -> None:
        """Fold one event of this session in.

        Args:
            event: the event (its ``session_id`` is this session's).
            t: its event time in microseconds (:func:`~streams.features.windows.to_micros`).
            signals: how chat text is read; ``None`` ignores chat text (sentiment 0, intent "other").
        """
        self.events += 1
        self.first_t = min(self.first_t, t)
        if t >= self.last_t:
            self.prev_t = self.last_t
            self.last_t = t
        elif t > self.prev_t:
            self.prev_t = t
        cls = type(event)
        if isinstance(event, (ProductView, PageView)):
            views = self._views
            views.add(t)
            views.prune(self.last_t - PAGE_SWITCH_SPAN)
            if event.category is not None:
                self._categories.add(event.category)
        elif cls is Search:
            self.searches += 1
        elif isinstance(event, AddToCart):
            if t > self.purchase_t:
                self._cart.append((t, event.event_id, event.product_id, event.quantity, event.unit_price))
        elif isinstance(event, RemoveFromCart):
            if t > self.purchase_t:
                self._cart.append((t, event.event_id, event.product_id, -event.quantity, None))
        elif cls is Purchase:
            if t > self.purchase_t:
                self.purchase_t = t
                self._cart = [line for line in self._cart if line[0] > t]
        elif cls is CheckoutStart:
            self.checkout_started = True
        elif isinstance(event, ChatMessage):
            key = (t, event.event_id)
            if self._chat_key is None or key > self._chat_key:
                self._chat_key = key
                if signals is None:
                    self.sentiment, self.intent = 0.0, "other"
                else:
                    signal = signals.analyse(event.text)
                    self.sentiment, self.intent = signal.sentiment, signal.intent
        if cls in _PASSIVE:
            if cls is ExitIntent:
                self.exit_t = max(self.exit_t, t)
            elif cls is SessionEnd and t > self.end_t:
                self.end_t = t
        elif t > self.activity_t:
            self.activity_t = t

    def expired(self, now: int, grace: int, idle_timeout: int) -> bool:
        """Whether the session is over at ``now``: ended more than ``grace`` ago, or idle for over ``idle_timeout``."""
        return (self.end_t != _NO_TIME and now > self.end_t + grace) or now > self.last_t + idle_timeout

    def cart(self) -> tuple[float, int]:
        """``(cart_value, cart_size)`` as defined in the module docstring."""
        units: dict[str, int] = {}
        prices: dict[str, tuple[int, str, float]] = {}
        for t, event_id, product_id, delta, price in self._cart:
            units[product_id] = units.get(product_id, 0) + delta
            if price is not None:
                key = (t, event_id, price)
                best = prices.get(product_id)
                if best is None or key[:2] > best[:2]:
                    prices[product_id] = key
        value = 0.0
        size = 0
        for product_id, n in units.items():
            if n > 0:
                size += n
                value += n * prices[product_id][2]
        return value, size

    def row(self) -> FeatureRow:
        """The session's ``SESSION_FEATURES`` row, at its latest event."""
        value, size = self.cart()
        return {
            "events_so_far": self.events,
            "dwell_s": seconds(self.last_t - self.first_t),
            "idle_s": seconds(self.last_t - self.prev_t) if self.prev_t != _NO_TIME else 0.0,
            "page_switches_30s": self._views.total(self.last_t),
            "exit_intent": self.exit_t != _NO_TIME and self.exit_t >= self.activity_t,
            "cart_value": value,
            "cart_size": size,
            "categories_browsed": len(self._categories),
            "searches": self.searches,
            "last_sentiment": self.sentiment,
            "last_intent": self.intent,
            "checkout_started": self.checkout_started,
        }
