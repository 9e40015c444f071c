"""A seeded mix of valid, duplicate and malformed raw records, each labelled with its expected fate."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from schemas.codec import encode
from schemas.events import AddToCart, PageView, ProductView


@dataclass
class Mix:
    """Records to produce and what must come out."""

    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    valid_ids: set[str] = field(default_factory=set)
    dead_reasons: Counter[str] = field(default_factory=Counter)
    dead_raw: set[bytes] = field(default_factory=set)


def make_mix(n: int, seed: int, now: datetime, bad_share: float = 0.1, dup_share: float = 0.05) -> Mix:
    rng = random.Random(seed)
    mix = Mix()
    sent: list[tuple[bytes, bytes]] = []
    for i in range(n):
        user = f"u{rng.randrange(200)}"
        key = user.encode()
        roll = rng.random()
        if roll < bad_share:
            reason, raw = _bad(rng, i, user, now)
            mix.records.append((key, raw))
            mix.dead_reasons[reason] += 1
            mix.dead_raw.add(raw)
        elif roll < bad_share + dup_share and sent:
            mix.records.append(rng.choice(sent))
        else:
            event_id = f"ev-{seed}-{i}"
            at = now - timedelta(seconds=(n - i) * 0.1)  # all inside the 1 h de-dup window
            kind = rng.randrange(3)
            common = {"event_id": event_id, "event_time": at, "schema_version": 1, "session_id": f"s-{user}"}
            if kind == 0:
                event = encode(PageView(user_id=user, page_type="home", **common))  # type: ignore[arg-type]
            elif kind == 1:
                event = encode(ProductView(user_id=user, product_id=f"p{i % 50}", price=12.5, **common))  # type: ignore[arg-type]
            else:
                event = encode(
                    AddToCart(anonymous_id=user, product_id=f"p{i % 50}", quantity=2, unit_price=3.0, **common)  # type: ignore[arg-type]
                )
            mix.records.append((key, event))
            sent.append((key, event))
            mix.valid_ids.add(event_id)
    return mix


def _bad(rng: random.Random, i: int, user: str, now: datetime) -> tuple[str, bytes]:
    base = {
        "event_type": "product_view",
        "event_id": f"bad-{i}",
        "event_time": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "schema_version": 1,
        "session_id": "s",
        "user_id": user,
        "product_id": "p1",
    }
    choice = rng.randrange(8)
    if choice == 0:
        return "malformed_json", b'{"event_type": "page_view", "event_id": ' + str(i).encode()
    if choice == 1:
        return "wrong_type", orjson.dumps({**base, "price": "free"})
    if choice == 2:
        return "missing_field", orjson.dumps({k: v for k, v in base.items() if k != "product_id"})
    if choice == 3:
        return "unknown_event_type", orjson.dumps({**base, "event_type": "levitate"})
    if choice == 4:
        return "oversize", orjson.dumps({**base, "padding": "x" * 70_000})
    if choice == 5:
        future = (now + timedelta(days=2)).isoformat().replace("+00:00", "Z")
        return "clock_skew_future", orjson.dumps({**base, "event_time": future})
    if choice == 6:
        return "missing_identity", orjson.dumps({k: v for k, v in base.items() if k != "user_id"})
    return "not_an_object", b'"just a string %d"' % i
