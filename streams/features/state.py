"""One partition's feature state: routes each event to its session, user and products, with a lateness rule.

Lateness rule: the state keeps a *watermark*, the largest event time applied so far. An event whose event time
is strictly older than ``watermark - allowed_lateness`` is **late**: it is not applied, nothing changes, and
:meth:`FeatureState.apply` returns :attr:`ChangedKeys.late` set so the caller counts and dead-letters it. An event
within the allowed lateness is folded in exactly as if it had arrived in order: every feature is a function of
the set of applied events (sliding windows insert out-of-order times in place), so any arrival order within the
lateness gives the same rows.

Reads take ``now`` (event time, chosen by the caller, typically the partition's watermark). Windowed features
(``t_days``, ``*_1d``, ``*_1h``) are exact for any ``now >= watermark - allowed_lateness``; windows forget what
no such ``now`` can see. Only events with ``event_time <= now`` should have been applied for a point-in-time row.

Bounded memory: a session is dropped once ``session_grace`` has passed since its ``session_end`` or
``session_idle_timeout`` since its latest event (checked against ``watermark - allowed_lateness`` every
``sweep_interval`` of event time; :meth:`FeatureState.session_row` also returns ``None`` for a session that is
over at ``now``). An event for a dropped session starts a fresh session state. Users and products are kept
(their windows are bounded by time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from schemas.events import AddToCart, Event, ProductView, Purchase
from streams.features.product import ProductState
from streams.features.rows import FeatureRow
from streams.features.session import SessionState
from streams.features.text import LexiconTextSignals, TextSignals
from streams.features.user import UserState
from streams.features.windows import MICROS_PER_SECOND, to_micros

__all__ = ["ChangedKeys", "FeatureConfig", "FeatureState"]

_NEVER = -(1 << 62)


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Timing parameters of a :class:`FeatureState`, in seconds of event time.

    Attributes:
        allowed_lateness_s: how far behind the watermark an event may be and still be applied.
        session_grace_s: how long a session is kept after its ``session_end`` (keep it >= the lateness).
        session_idle_timeout_s: how long a session without events is kept.
        sweep_interval_s: how often (in event time) over sessions are dropped.
    """

    allowed_lateness_s: float = 300.0
    session_grace_s: float = 600.0
    session_idle_timeout_s: float = 1800.0
    sweep_interval_s: float = 300.0

    def __post_init__(self) -> None:
        """Reject negative or zero durations.

        Raises:
            ValueError: a duration is out of range.
        """
        if self.allowed_lateness_s < 0 or self.session_grace_s < 0:
            raise ValueError("allowed_lateness_s and session_grace_s must be >= 0")
        if self.session_idle_timeout_s <= 0 or self.sweep_interval_s <= 0:
            raise ValueError("session_idle_timeout_s and sweep_interval_s must be > 0")


class ChangedKeys(NamedTuple):
    """The entity keys whose stored features one :meth:`FeatureState.apply` changed.

    A named tuple rather than a frozen dataclass: one is built per event and this is twice as fast to build.

    Attributes:
        session_id: the event's session (every applied event changes it), else ``None``.
        user_key: the event's partition key when the user's features changed (or the user is new), else ``None``.
        product_ids: the products whose features changed (a purchase changes every product in it).
        late: the event was older than the watermark minus the allowed lateness and was not applied.
    """

    session_id: str | None = None
    user_key: str | None = None
    product_ids: tuple[str, ...] = ()
    late: bool = False


_LATE = ChangedKeys(late=True)


def _micros(s: float) -> int:
    return round(s * MICROS_PER_SECOND)


class FeatureState:
    """The feature state of one partition (see the module docstring for the lateness and memory rules).

    Args:
        config: timing parameters.
        text_signals: how chat text becomes sentiment and intent; default the rule-based lexicon.

    >>> from datetime import datetime, timedelta, timezone
    >>> from schemas.events import ProductView
    >>> at = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    >>> def view(i, seconds):
    ...     return ProductView(event_id=f"e{i}", event_time=at + timedelta(seconds=seconds), schema_version=1,
    ...                        session_id="s1", user_id="u1", product_id="p1", category="books", price=9.5)
    >>> state = FeatureState()
    >>> state.apply(view(1, 0))
    ChangedKeys(session_id='s1', user_key='u1', product_ids=('p1',), late=False)
    >>> state.apply(view(2, 600)).late, state.apply(view(3, 310)).late, state.apply(view(4, 250)).late
    (False, False, True)
    >>> state.product_row("p1", at + timedelta(seconds=600))["views_1h"], state.late_events
    (3, 1)
    """

    __slots__ = (
        "_grace",
        "_idle",
        "_lateness",
        "_next_sweep",
        "_products",
        "_sessions",
        "_signals",
        "_sweep",
        "_users",
        "config",
        "late_events",
        "watermark",
    )

    def __init__(self, config: FeatureConfig | None = None, text_signals: TextSignals | None = None) -> None:
        self.config = config if config is not None else FeatureConfig()
        self._signals: TextSignals = text_signals if text_signals is not None else LexiconTextSignals()
        self._lateness = _micros(self.config.allowed_lateness_s)
        self._grace = _micros(self.config.session_grace_s)
        self._idle = _micros(self.config.session_idle_timeout_s)
        self._sweep = _micros(self.config.sweep_interval_s)
        self._next_sweep = _NEVER
        self.watermark = _NEVER
        """Largest applied event time, in microseconds since the epoch."""
        self.late_events = 0
        """Events refused as late so far."""
        self._sessions: dict[str, SessionState] = {}
        self._users: dict[str, UserState] = {}
        self._products: dict[str, ProductState] = {}

    def use_text_signals(self, signals: TextSignals) -> None:
        """Read chat text with ``signals`` from now on (a state restored from a checkpoint gets the stage's back)."""
        self._signals = signals

    def apply(self, event: Event) -> ChangedKeys:
        """Fold one validated event in, unless it is late.

        Args:
            event: a decoded event of this partition.

        Returns:
            The keys whose features changed, or ``ChangedKeys(late=True)`` when the event was refused as late.
        """
        t = to_micros(event.event_time)
        if t > self.watermark:
            self.watermark = t
            if t >= self._next_sweep:
                self._drop_over_sessions(t - self._lateness)
                self._next_sweep = t + self._sweep
        elif t < self.watermark - self._lateness:
            self.late_events += 1
            return _LATE
        horizon = self.watermark - self._lateness

        session_id = event.session_id
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = SessionState(session_id)
        session.update(event, t, self._signals)

        key = event.user_id if event.user_id is not None else event.anonymous_id
        if key is None:  # unreachable for validated events; keeps the type narrow
            key = event.partition_key
        user = self._users.get(key)
        if user is None:
            user = self._users[key] = UserState()
            user.update(event, t, horizon)
            user_key: str | None = key
        else:
            user_key = key if user.update(event, t, horizon) else None

        products = self._products
        if isinstance(event, (ProductView, AddToCart)):
            product_id = event.product_id
            product = products.get(product_id)
            if product is None:
                product = products[product_id] = ProductState()
            if isinstance(event, ProductView):
                product.observe(t, event.event_id, 0, event.price, event.category)
                product.view(t, horizon)
            else:
                product.observe(t, event.event_id, 0, event.unit_price, event.category)
            return ChangedKeys(session_id, user_key, (product_id,))
        if isinstance(event, Purchase):
            return ChangedKeys(session_id, user_key, self._apply_purchase(event, t, horizon))
        return ChangedKeys(session_id, user_key)

    def _apply_purchase(self, event: Purchase, t: int, horizon: int) -> tuple[str, ...]:
        units: dict[str, int] = {}
        for item in event.items:
            units[item.product_id] = units.get(item.product_id, 0) + item.quantity
        in_order = tuple(units)
        products = self._products
        for product_id in in_order:
            if product_id not in products:
                products[product_id] = ProductState()
        for line, item in enumerate(event.items):
            products[item.product_id].observe(t, event.event_id, line, item.unit_price, item.category)
        for product_id, n in units.items():
            others = tuple(other for other in in_order if other != product_id)
            products[product_id].buy(t, n, others, horizon)
        return in_order

    def _drop_over_sessions(self, now: int) -> None:
        grace, idle = self._grace, self._idle
        over = [sid for sid, s in self._sessions.items() if s.expired(now, grace, idle)]
        for session_id in over:
            del self._sessions[session_id]

    def forget_user(self, user_key: str) -> bool:
        """Drop everything held under a partition key (an erasure); returns whether there was anything.

        Session and product state stay: sessions are keyed by their own id and end on their own, products are
        shared by every shopper.
        """
        return self._users.pop(user_key, None) is not None

    def session_ids(self, now: datetime) -> Iterator[str]:
        """The sessions held and not over at ``now``."""
        t = to_micros(now)
        grace, idle = self._grace, self._idle
        return (sid for sid, s in self._sessions.items() if not s.expired(t, grace, idle))

    def user_keys(self) -> Iterator[str]:
        """Every partition key seen (each has a user row)."""
        return iter(self._users)

    def product_ids(self) -> Iterator[str]:
        """Every product seen on a product view, add to cart or purchase."""
        return iter(self._products)

    def session_row(self, session_id: str, now: datetime) -> FeatureRow | None:
        """The session's ``SESSION_FEATURES`` row, or ``None`` when it is unknown or over at ``now``."""
        session = self._sessions.get(session_id)
        if session is None or session.expired(to_micros(now), self._grace, self._idle):
            return None
        return session.row()

    def user_row(self, user_key: str, now: datetime) -> FeatureRow | None:
        """The user's ``USER_FEATURES`` row at ``now``, or ``None`` for a partition key never seen."""
        user = self._users.get(user_key)
        return None if user is None else user.row(to_micros(now))

    def product_row(self, product_id: str, now: datetime) -> FeatureRow | None:
        """The product's ``PRODUCT_FEATURES`` row at ``now``, or ``None`` for a product never seen."""
        product = self._products.get(product_id)
        return None if product is None else product.row(to_micros(now))
