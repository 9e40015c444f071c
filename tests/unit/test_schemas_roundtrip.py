"""Round trips: ``decode(encode(x)) == x`` for every contract, on examples and on generated values.

The generator reads each struct's msgspec type info (lengths, bounds, patterns, literals), so it follows the
contracts as they change instead of restating them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import msgspec.inspect as mi
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import (
    EVENT_CLASSES,
    DeadLetter,
    Decision,
    Event,
    EventDecoder,
    Reward,
    StructDecoder,
    decode_as,
    encode,
)
from schemas.examples import example_decision, example_events, example_reward

MAX_TEXT = 24
"""Generated strings stay short; the length limits themselves are tested in test_schemas_codec."""

TIMEZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


def _strategy(info: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(info, mi.Metadata):
        return _strategy(info.type)
    if isinstance(info, mi.StrType):
        if info.pattern is not None:
            return st.from_regex(info.pattern, fullmatch=True)
        low = info.min_length or 0
        return st.text(min_size=low, max_size=max(low, min(info.max_length or MAX_TEXT, MAX_TEXT)))
    if isinstance(info, mi.IntType):
        low = info.ge if info.ge is not None else -(2**53) + 1
        return st.integers(min_value=low, max_value=info.le if info.le is not None else 2**53 - 1)
    if isinstance(info, mi.FloatType):
        return st.floats(
            min_value=info.ge if info.ge is not None else info.gt,
            max_value=info.le,
            exclude_min=info.gt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.BytesType):
        return st.binary(max_size=64)
    if isinstance(info, mi.DateTimeType):
        return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=TIMEZONES)
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.EnumType):
        return st.sampled_from(list(info.cls))
    if isinstance(info, mi.UnionType):
        return st.one_of([_strategy(member) for member in info.types])
    if isinstance(info, mi.ListType):
        return st.lists(_strategy(info.item_type), max_size=3)
    if isinstance(info, mi.StructType):
        return _struct(info)
    raise NotImplementedError(f"no strategy for {info!r}")


def _struct(info: mi.StructType) -> st.SearchStrategy[Any]:
    fields = {field.name: _strategy(field.type) for field in info.fields}
    names = {field.name for field in info.fields}

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        values = {name: draw(strategy) for name, strategy in fields.items()}
        if {"user_id", "anonymous_id"} <= names and values["user_id"] is None and values["anonymous_id"] is None:
            values["anonymous_id"] = draw(_strategy(mi.StrType(min_length=1, max_length=128)))
        return info.cls(**values)

    return build()


def strategy_for(cls: type[Any]) -> st.SearchStrategy[Any]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return _struct(info)


EVENTS = st.one_of([strategy_for(cls) for cls in EVENT_CLASSES.values()])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(event=EVENTS)
def test_every_generated_event_round_trips(event: Event) -> None:
    data = encode(event)
    assert EventDecoder().decode(data) == event
    assert orjson.loads(data)["event_type"] == event.event_type


@pytest.mark.parametrize("cls", [Decision, Reward, DeadLetter], ids=lambda cls: cls.__name__)
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_generated_struct_round_trips(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    value = data.draw(strategy_for(cls))
    assert decode_as(encode(value), cls) == value


@pytest.mark.parametrize("event_type", sorted(EVENT_CLASSES))
def test_every_example_event_round_trips(event_type: str) -> None:
    event = example_events()[event_type]
    assert EventDecoder().decode(encode(event)) == event


def test_examples_cover_every_event_type() -> None:
    assert set(example_events()) == set(EVENT_CLASSES)
    assert all(type(event) is EVENT_CLASSES[name] for name, event in example_events().items())


def test_decision_and_reward_examples_round_trip() -> None:
    assert StructDecoder(Decision).decode(encode(example_decision())) == example_decision()
    assert StructDecoder(Reward).decode(encode(example_reward())) == example_reward()


def test_wire_format_is_compact_utf8_json_with_rfc3339_utc() -> None:
    data = encode(example_events()["chat_message"])
    document = orjson.loads(data)
    assert data.decode("utf-8")  # UTF-8, not \\u-escaped
    assert "Größe".encode() in data
    assert b": " not in data
    assert document["event_type"] == "chat_message"
    assert document["event_time"] == "2026-11-21T10:00:00.123000Z"
    assert document["schema_version"] == 1
    assert document["anonymous_id"] is None  # optional fields are written, as null


def test_offsets_other_than_utc_are_kept_on_the_wire() -> None:
    event = msgspec.structs.replace(
        example_events()["page_view"],
        event_time=datetime(2026, 11, 21, 11, tzinfo=timezone(timedelta(hours=1))),
    )
    assert orjson.loads(encode(event))["event_time"] == "2026-11-21T11:00:00+01:00"


def test_enums_travel_as_their_values() -> None:
    document = orjson.loads(encode(example_decision()))
    assert document["action"]["type"] == "discount"
    assert orjson.loads(encode(example_reward()))["component"] == "conversion"


def test_bytes_travel_as_base64_in_json() -> None:
    letter = DeadLetter(
        reason="oversize",
        detail="d",
        stage="ingest",
        error_type="PoisonMessageError",
        source_topic="t",
        source_partition=0,
        source_offset=0,
        dead_lettered_at_ms=0,
        raw=b"\x00\xff",
        key=b"k",
    )
    document = orjson.loads(encode(letter))
    assert (document["raw"], document["key"]) == ("AP8=", "aw==")
