"""Hypothesis strategies for hostile raw records: what a broken or malicious publisher can put on the raw topic.

Each record is ``(family, key, raw)``: ``family`` names how it was made (for the counts), ``key`` is the record key
(the event's own, another id, or none) and ``raw`` the value. Families: valid events (some re-keyed), valid-looking
events with one field set to a hostile value (out of range, wrong type, huge, NaN/Infinity, deep, oversize), wrong
or missing tags, duplicate keys, broken UTF-8, byte-order marks and UTF-16, huge number tokens, deep nesting,
truncated documents, random bytes, and padding over the size limit.

Hypothesis draws records slowly (~1-3 ms each here), so :data:`hostile_batches` draws one record and a seed per
example and :func:`expand` derives further records from it by cheap byte-level mutations (a fresh event id, another
key, a truncation, an inserted token, a flipped byte, a cut slice): a high volume at a bounded cost.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from schemas.codec import encode
from schemas.examples import example_events

Record = tuple[str, bytes | None, bytes]

_EXAMPLES: list[dict[str, Any]] = [orjson.loads(encode(e)) for e in example_events().values()]
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_BAD_UTF8 = (b"\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\xc0\xaf")
_FIELDS = sorted({name for example in _EXAMPLES for name in example} | {"items", "price", "quantity", "padding"})


def _dumps(obj: object) -> bytes:
    """JSON text as a sloppy publisher writes it: NaN, Infinity and integers of any size included."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _fresh(example: dict[str, Any], n: int, skew_s: float) -> dict[str, Any]:
    at = datetime.now(UTC) + timedelta(seconds=skew_s)
    return {**example, "event_id": f"fz-{n}", "event_time": at.isoformat().replace("+00:00", "Z")}


_examples = st.sampled_from(_EXAMPLES)
_ids = st.integers(0, 2**40)
_skews = st.one_of(st.floats(-3000, 200), st.floats(-30 * 86400, 30 * 86400))
_events = st.builds(_fresh, _examples, _ids, _skews)

_deep = st.builds(
    lambda depth, kind: ("[" * depth + "]" * depth) if kind else ('{"a":' * depth + "1" + "}" * depth),
    st.integers(1, 6000),
    st.booleans(),
)
_hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(min_size=129, max_size=400),
    st.integers(60_000, 200_000).map(lambda n: "x" * n),
    st.lists(st.integers() | st.text(max_size=5), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers() | st.none(), max_size=4),
)


def _keyed(event: dict[str, Any], choice: int) -> bytes | None:
    own = event.get("user_id") or event.get("anonymous_id")
    own_key = own.encode("utf-8", "surrogatepass") if isinstance(own, str) else None
    return (own_key, b"someone-else", None)[choice]


_key_choice = st.sampled_from((0, 0, 0, 1, 2))


@st.composite
def _valid(draw: st.DrawFn) -> Record:
    event = draw(_events)
    return "valid", _keyed(event, draw(_key_choice)), _dumps(event)


@st.composite
def _out_of_range(draw: st.DrawFn) -> Record:
    event = draw(_events)
    event[draw(st.sampled_from(_FIELDS))] = draw(_hostile_values)
    return "hostile_field", _keyed(event, draw(_key_choice)), _dumps(event)


@st.composite
def _no_identity(draw: st.DrawFn) -> Record:
    event = draw(_events)
    for name in ("user_id", "anonymous_id"):
        if draw(st.booleans()):
            event[name] = draw(st.sampled_from(["", None, 0, "x" * 200]))
        else:
            event.pop(name, None)
    return "identity", None, _dumps(event)


@st.composite
def _wrong_tag(draw: st.DrawFn) -> Record:
    event = draw(_events)
    tag = draw(st.one_of(st.text(max_size=20), st.sampled_from([e["event_type"] for e in _EXAMPLES]), _hostile_values))
    if draw(st.booleans()):
        event["event_type"] = tag
    else:
        event.pop("event_type", None)
    return "wrong_tag", _keyed(event, 0), _dumps(event)


@st.composite
def _duplicate_keys(draw: st.DrawFn) -> Record:
    event = draw(_events)
    name = draw(st.sampled_from(sorted(event)))
    extra = _dumps({name: draw(_hostile_values | st.sampled_from([e["event_type"] for e in _EXAMPLES]))})
    body = _dumps(event)
    raw = body[:-1] + b"," + extra[1:] if draw(st.booleans()) else extra[:-1] + b"," + body[1:]
    return "duplicate_keys", _keyed(event, 0), raw


@st.composite
def _broken_utf8(draw: st.DrawFn) -> Record:
    event = draw(_events)
    raw = _dumps(event)
    at = draw(st.integers(0, len(raw)))
    return "broken_utf8", _keyed(event, 0), raw[:at] + draw(st.sampled_from(_BAD_UTF8)) + raw[at:]


@st.composite
def _bom(draw: st.DrawFn) -> Record:
    event = draw(_events)
    text = _dumps(event).decode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = draw(st.sampled_from(_BOMS)) + text.encode("utf-8", "surrogatepass")
    else:
        raw = text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"])), "surrogatepass")
    return "bom_or_utf16", _keyed(event, 0), raw


@st.composite
def _huge_number(draw: st.DrawFn) -> Record:
    event = draw(_events)
    name = draw(st.sampled_from(["schema_version", "price", "quantity", "unit_price", "event_id", "total"]))
    digits = draw(st.integers(18, 3000))
    token = draw(st.sampled_from(["9" * digits, "-" + "9" * digits, f"1e{digits}", f"1e-{digits}", "1.5e308"]))
    body = _dumps({k: v for k, v in event.items() if k != name})
    return "huge_number", _keyed(event, 0), body[:-1] + f',"{name}":{token}}}'.encode()


@st.composite
def _deep_nesting(draw: st.DrawFn) -> Record:
    event = draw(_events)
    nest = draw(_deep).encode()
    if draw(st.booleans()):
        return "deep_nesting", None, nest
    body = _dumps(event)
    return "deep_nesting", _keyed(event, 0), body[:-1] + b',"nested":' + nest + b"}"


@st.composite
def _truncated(draw: st.DrawFn) -> Record:
    event = draw(_events)
    raw = _dumps(event)
    return "truncated", _keyed(event, 0), raw[: draw(st.integers(0, max(0, len(raw) - 1)))]


@st.composite
def _oversize(draw: st.DrawFn, max_bytes: int) -> Record:
    event = draw(_events)
    event["padding"] = "p" * draw(st.integers(65_000, max_bytes))
    return "oversize", _keyed(event, 0), _dumps(event)


_random_bytes = st.builds(lambda raw, key: ("random_bytes", key, raw), st.binary(max_size=200), st.none() | st.binary())


def hostile_records(max_bytes: int = 400_000) -> st.SearchStrategy[Record]:
    """One hostile record of any family; oversize ones are at most ``max_bytes`` long."""
    return st.one_of(
        _valid(),
        _out_of_range(),
        _no_identity(),
        _wrong_tag(),
        _duplicate_keys(),
        _broken_utf8(),
        _bom(),
        _huge_number(),
        _deep_nesting(),
        _truncated(),
        _oversize(max_bytes),
        _random_bytes,
    )


_TOKENS = (
    b"NaN",
    b"-Infinity",
    b"\xff",
    b"\xef\xbb\xbf",
    b"[" * 2000,
    b'"',
    b",",
    b"}",
    b"{",
    b"null",
    b"1e999",
    b"9" * 40,
    b"\\u0000",
    b"\\ud800",
    b'"event_type":"purchase",',
)
_MUTATIONS = ("fresh_id", "other_key", "truncate", "insert", "flip", "cut")


Mutated = tuple[str, str, bytes | None, bytes]
"""``(family, mutation, key, raw)``."""


def expand(record: Record, seed: int, count: int) -> list[Mutated]:
    """``record`` and ``count - 1`` records mutated from it, as ``(family, mutation, key, raw)``; deterministic."""
    family, key, raw = record
    rng = random.Random(seed)
    out: list[Mutated] = [(family, "none", key, raw)]
    for _ in range(count - 1):
        op = rng.choice(_MUTATIONS)
        new_key, at = key, rng.randrange(len(raw) + 1)
        if op == "fresh_id":
            new = raw.replace(b'"event_id":"fz-', b'"event_id":"fz-%d-' % rng.randrange(2**40), 1)
        elif op == "other_key":
            new, new_key = raw, rng.choice((None, b"", b"someone-else", raw[:16], key))
        elif op == "truncate":
            new = raw[:at]
        elif op == "insert":
            new = raw[:at] + rng.choice(_TOKENS) + raw[at:]
        elif op == "flip":
            new = raw[:at] + bytes([rng.randrange(256)]) + raw[at + 1 :]
        else:
            new = raw[:at] + raw[at + rng.randrange(1, 64) :]
        out.append((family, op, new_key, new))
    return out


def hostile_batches(
    count: int, max_bytes: int = 400_000
) -> st.SearchStrategy[list[tuple[str, str, bytes | None, bytes]]]:
    """``count`` hostile records per example: one drawn by Hypothesis, the rest mutated from it (:func:`expand`)."""
    return st.builds(expand, hostile_records(max_bytes), st.integers(0, 2**32), st.just(count))


def fuzz_settings(examples: int) -> settings:
    """Deterministic (``derandomize``), generation only, no deadline or database: a bounded, repeatable fuzz run."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
