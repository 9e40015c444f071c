"""Independent batch reference for the streaming features: recompute every feature with pandas from an event log.

Written straight from the definitions in ``schemas.features`` and the module docstrings of ``streams.features``
(session, user, product); it deliberately shares no code with ``streams.features``. The one injected piece is
the chat text reader (``text_signals``), which is a lexicon with its own unit tests; the reference decides *which*
message is the latest at ``at``, which is the point-in-time part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import pandas as pd

from schemas.events import (
    AddToCart,
    ChatMessage,
    ConsentUpdate,
    EmailSignup,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    PageView,
    ProductView,
    Purchase,
    RemoveFromCart,
)

__all__ = ["Frames", "frames_of", "product_rows", "session_rows", "user_rows"]

Row = dict[str, object]
DAY = pd.Timedelta(days=1)
PASSIVE = ("exit_intent", "session_end", "intervention_impression")
VIEWS = ("page_view", "product_view")


class Frames:
    """The event log as two frames: one row per event, one row per purchase line."""

    def __init__(self, events: pd.DataFrame, lines: pd.DataFrame) -> None:
        self.events = events
        self.lines = lines

    def until(self, at: datetime) -> Frames:
        """Only what happened at or before ``at``."""
        ts = pd.Timestamp(at)
        return Frames(self.events[self.events.t <= ts], self.lines[self.lines.t <= ts])


def frames_of(events: Iterable[Event]) -> Frames:
    """Flatten decoded events into :class:`Frames`."""
    rows: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    for e in events:
        key = e.user_id if e.user_id is not None else e.anonymous_id
        row: dict[str, object] = {
            "event_id": e.event_id,
            "type": e.event_type,
            "t": pd.Timestamp(e.event_time).tz_convert("UTC"),
            "session_id": e.session_id,
            "key": key,
            "product_id": None,
            "category": None,
            "price": None,
            "quantity": 0,
            "order_value": 0.0,
            "intervention_type": None,
            "consent": None,
            "personalisation": None,
            "text": None,
        }
        if isinstance(e, (ProductView, PageView)):
            row["category"] = e.category
        if isinstance(e, ProductView):
            row["product_id"], row["price"] = e.product_id, e.price
        elif isinstance(e, AddToCart):
            row.update(product_id=e.product_id, price=e.unit_price, quantity=e.quantity, category=e.category)
        elif isinstance(e, RemoveFromCart):
            row.update(product_id=e.product_id, quantity=e.quantity)
        elif isinstance(e, Purchase):
            row["order_value"] = e.order_value
            for i, item in enumerate(e.items):
                lines.append(
                    {
                        "event_id": e.event_id,
                        "t": row["t"],
                        "line": i,
                        "product_id": item.product_id,
                        "quantity": item.quantity,
                        "unit_price": item.unit_price,
                        "category": item.category,
                    }
                )
        elif isinstance(e, (InterventionImpression, InterventionClick, InterventionDismiss)):
            row["intervention_type"] = e.intervention_type
        elif isinstance(e, EmailSignup):
            row["consent"] = e.consent_marketing
        elif isinstance(e, ConsentUpdate):
            row["consent"], row["personalisation"] = e.marketing, e.personalisation
        elif isinstance(e, ChatMessage):
            row["text"] = e.text
        rows.append(row)
    events_df = pd.DataFrame(rows)
    events_df["t"] = pd.to_datetime(events_df["t"], utc=True)
    lines_df = pd.DataFrame(
        lines, columns=["event_id", "t", "line", "product_id", "quantity", "unit_price", "category"]
    )
    lines_df["t"] = pd.to_datetime(lines_df["t"], utc=True)
    return Frames(events_df, lines_df)


def _latest(df: pd.DataFrame, by: tuple[str, ...] = ("t", "event_id")) -> pd.Series:
    return df.sort_values(list(by)).iloc[-1]


def session_rows(
    frames: Frames,
    at: datetime,
    text_signals: Callable[[str], tuple[float, str]],
    grace_s: float,
    idle_s: float,
) -> dict[str, Row]:
    """Session features at ``at`` for every session not over at ``at`` (ended > grace ago, idle > idle_s)."""
    ts = pd.Timestamp(at)
    out: dict[str, Row] = {}
    ev = frames.until(at).events
    last_seen = ev.groupby("session_id").t.max()
    ended = ev[ev.type == "session_end"].groupby("session_id").t.max()
    over = ts > last_seen + pd.Timedelta(seconds=idle_s)
    over |= (ts > ended + pd.Timedelta(seconds=grace_s)).reindex(over.index, fill_value=False)
    live = ev[ev.session_id.isin(over.index[~over])]
    for session_id, g in live.groupby("session_id"):
        times = g.t.sort_values()
        first, last = times.iloc[0], times.iloc[-1]
        views = g[g.type.isin(VIEWS)]
        exits = g.t[g.type == "exit_intent"]
        activity = g.t[~g.type.isin(PASSIVE)]
        purchases = g.t[g.type == "purchase"]
        cart = g[g.type.isin(("add_to_cart", "remove_from_cart"))]
        if len(purchases):
            cart = cart[cart.t > purchases.max()]
        value, size = 0.0, 0
        for _, c in cart.groupby("product_id"):
            adds = c[c.type == "add_to_cart"]
            n = int(adds.quantity.sum() - c[c.type == "remove_from_cart"].quantity.sum())
            if n > 0:
                size += n
                value += n * float(_latest(adds)["price"])
        chats = g[g.type == "chat_message"]
        sentiment, intent = text_signals(str(_latest(chats)["text"])) if len(chats) else (0.0, "")
        out[str(session_id)] = {
            "events_so_far": len(g),
            "dwell_s": (last - first).total_seconds(),
            "idle_s": (last - times.iloc[-2]).total_seconds() if len(times) > 1 else 0.0,
            "page_switches_30s": int(((views.t > last - pd.Timedelta(seconds=30)) & (views.t <= last)).sum()),
            "exit_intent": bool(len(exits) and (not len(activity) or exits.max() >= activity.max())),
            "cart_value": value,
            "cart_size": size,
            "categories_browsed": int(views.category.dropna().nunique()),
            "searches": int((g.type == "search").sum()),
            "last_sentiment": sentiment,
            "last_intent": intent,
            "checkout_started": bool((g.type == "checkout_start").any()),
        }
    return out


def user_rows(frames: Frames, at: datetime) -> dict[str, Row]:
    """User features at ``at`` for every partition key with an event at or before ``at``."""
    ts = pd.Timestamp(at)
    ev = frames.until(at).events
    orders = ev[ev.type == "purchase"].assign(day=lambda d: d.t.dt.floor("D"))
    per = orders.groupby("key").agg(
        first=("t", "min"), last=("t", "max"), n=("t", "size"), aov=("order_value", "mean"), days=("day", "nunique")
    )
    first_day = orders.key.map(per["first"].dt.floor("D"))
    monetary = orders[orders.day != first_day].groupby("key").order_value.mean()
    views = ev[ev.type == "product_view"]
    n_views = views.groupby("key").size()
    by_cat = views.dropna(subset=["category"]).groupby(["key", "category"]).size().reset_index(name="n")
    top = by_cat.sort_values(["key", "n", "category"], ascending=[True, False, True]).groupby("key").first()
    discount = ev[ev.intervention_type == "discount"]
    shown = discount[discount.type == "intervention_impression"].groupby("key").size()
    clicked = discount[discount.type == "intervention_click"].groupby("key").size()
    recent = ev[(ev.t > ts - DAY) & (ev.t <= ts)]
    seen = recent[recent.type == "intervention_impression"].groupby("key").size()
    dismissed = recent[recent.type == "intervention_dismiss"].groupby("key").size()
    ordered = ev.sort_values(["t", "event_id"])
    consent = ordered.dropna(subset=["consent"]).groupby("key").consent.last()
    personal = ordered.dropna(subset=["personalisation"]).groupby("key").personalisation.last()
    out: dict[str, Row] = {}
    for key in ev.key.unique():
        if key in per.index:
            p = per.loc[key]
            bgnbd = (
                int(p["days"]) - 1,
                (p["last"] - p["first"]) / DAY,
                (ts - p["first"]) / DAY,
                float(monetary.get(key, 0.0)),
                int(p["n"]),
                float(p["aov"]),
            )
        else:
            bgnbd = (0, 0.0, 0.0, 0.0, 0, 0.0)
        if key in top.index:
            category, affinity = str(top.loc[key, "category"]), int(top.loc[key, "n"]) / int(n_views[key])
        else:
            category, affinity = "", 0.0
        n_shown = int(shown.get(key, 0))
        out[str(key)] = {
            "frequency": bgnbd[0],
            "recency_days": float(bgnbd[1]),
            "t_days": float(bgnbd[2]),
            "monetary": bgnbd[3],
            "purchase_count": bgnbd[4],
            "average_order_value": bgnbd[5],
            "top_category": category,
            "category_affinity": affinity,
            "discount_responsiveness": min(1.0, int(clicked.get(key, 0)) / n_shown) if n_shown else 0.0,
            "interventions_seen_1d": int(seen.get(key, 0)),
            "interventions_dismissed_1d": int(dismissed.get(key, 0)),
            "consent_marketing": bool(consent.get(key, False)),
            "consent_personalisation": bool(personal.get(key, False)),
        }
    return out


def product_rows(frames: Frames, at: datetime) -> dict[str, Row]:
    """Product features at ``at`` for every product viewed, added to a cart or bought at or before ``at``."""
    ts = pd.Timestamp(at)
    f = frames.until(at)
    ev, lines = f.events, f.lines
    columns = ["product_id", "t", "event_id", "line", "price", "category"]
    said = pd.concat(
        [
            ev[ev.type.isin(("product_view", "add_to_cart"))].assign(line=0)[columns],
            lines.rename(columns={"unit_price": "price"})[columns],
        ]
    ).sort_values(["t", "event_id", "line"])
    prices = said.dropna(subset=["price"]).groupby("product_id").price.last()
    categories = said.dropna(subset=["category"]).groupby("product_id").category.last()
    since = ts - pd.Timedelta(hours=1)
    views = ev[(ev.type == "product_view") & (ev.t > since) & (ev.t <= ts)].groupby("product_id").size()
    units = lines[(lines.t > since) & (lines.t <= ts)].groupby("product_id").quantity.sum()
    basket = lines[["event_id", "product_id"]].drop_duplicates()
    pairs = basket.merge(basket, on="event_id")
    pairs = pairs[pairs.product_id_x != pairs.product_id_y]
    co = pairs.groupby(["product_id_x", "product_id_y"]).size().reset_index(name="n")
    co = co.sort_values(["product_id_x", "n", "product_id_y"], ascending=[True, False, True])
    neighbours = {str(k): list(g.product_id_y)[:5] for k, g in co.groupby("product_id_x")}
    out: dict[str, Row] = {}
    for product_id in said.product_id.unique():
        n_views = int(views.get(product_id, 0))
        n_units = int(units.get(product_id, 0))
        out[str(product_id)] = {
            "price": float(prices.get(product_id, 0.0)),
            "category": str(categories.get(product_id, "")),
            "views_1h": n_views,
            "purchases_1h": n_units,
            "conversion_rate_1h": n_units / n_views if n_views else 0.0,
            "co_purchased": neighbours.get(str(product_id), []),
            "stock": -1,  # stock comes from the catalogue topic, not from events
        }
    return out
