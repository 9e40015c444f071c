"""EventDecoder and StructDecoder: one named reason, a JSON path and a clear detail for every bad input."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from schemas import (
    DEFAULT_MAX_BYTES,
    DeadLetterReason,
    Decision,
    EventDecoder,
    PageView,
    PoisonMessageError,
    Reward,
    StructDecoder,
    decode_as,
    decode_json,
    encode,
)
from schemas.codec import poison_from_validation_error
from schemas.examples import example_decision, example_events, example_reward

R = DeadLetterReason
DROP = object()

DECODER_REASONS = frozenset(R) - {R.CLOCK_SKEW_FUTURE, R.CLOCK_SKEW_PAST, R.LATE_EVENT, R.UNATTRIBUTED}
"""Every reason a decoder produces; the clock-skew reasons belong to the ingest stage."""


def doc(kind: str = "page_view", /, **changes: Any) -> dict[str, Any]:
    """The example event of type ``kind`` as a JSON object, with top-level fields changed or dropped."""
    document: dict[str, Any] = orjson.loads(encode(example_events()[kind]))
    for name, value in changes.items():
        if value is DROP:
            document.pop(name, None)
        else:
            document[name] = value
    return document


def purchase_item(**changes: Any) -> bytes:
    """A purchase whose first line item has fields changed or dropped."""
    document = doc("purchase")
    item = document["items"][0]
    for name, value in changes.items():
        if value is DROP:
            del item[name]
        else:
            item[name] = value
    return orjson.dumps(document)


def raw(document: Any) -> bytes:
    return orjson.dumps(document)


def splice(document: dict[str, Any], text: bytes) -> bytes:
    """Insert raw JSON text (``"key": value``) as the first member of the object."""
    return b"{" + text + b"," + raw(document)[1:]


# (raw, reason, field, detail): detail None means "not asserted beyond being non-empty".
CASES = [
    # MALFORMED_JSON: not JSON, or not UTF-8
    pytest.param(b"{nope", R.MALFORMED_JSON, None, None, id="malformed-garbage"),
    pytest.param(b"", R.MALFORMED_JSON, None, "Input data was truncated", id="malformed-empty"),
    pytest.param(raw(doc())[:-1], R.MALFORMED_JSON, None, "Input data was truncated", id="malformed-truncated"),
    pytest.param(raw(doc()) + b" x", R.MALFORMED_JSON, None, None, id="malformed-trailing"),
    pytest.param(b"\xef\xbb\xbf" + raw(doc()), R.MALFORMED_JSON, None, None, id="malformed-bom"),
    pytest.param(splice(doc(), b'"price": NaN'), R.MALFORMED_JSON, None, None, id="malformed-nan-literal"),
    pytest.param(
        splice(doc(), b'"device": "m\xffbile"'), R.MALFORMED_JSON, None, None, id="malformed-utf8-known-field"
    ),
    pytest.param(
        splice(doc(), b'"unknown": "\xc3\x28"'),
        R.MALFORMED_JSON,
        None,
        None,
        id="malformed-utf8-unknown-field",
    ),
    # NOT_AN_OBJECT
    pytest.param(b"[1, 2]", R.NOT_AN_OBJECT, "$", "Expected `object`, got `array`", id="not-object-array"),
    pytest.param(b"42", R.NOT_AN_OBJECT, "$", "Expected `object`, got `int`", id="not-object-int"),
    pytest.param(b'"page_view"', R.NOT_AN_OBJECT, "$", "Expected `object`, got `str`", id="not-object-str"),
    pytest.param(b"null", R.NOT_AN_OBJECT, "$", "Expected `object`, got `null`", id="not-object-null"),
    # UNKNOWN_EVENT_TYPE: missing, unknown, not a string
    pytest.param(
        raw(doc(event_type=DROP)),
        R.UNKNOWN_EVENT_TYPE,
        "$.event_type",
        "Object missing required field `event_type`",
        id="event-type-missing",
    ),
    pytest.param(
        raw(doc(event_type="page_vue")),
        R.UNKNOWN_EVENT_TYPE,
        "$.event_type",
        "Invalid value 'page_vue'",
        id="event-type-unknown",
    ),
    pytest.param(raw(doc(event_type="")), R.UNKNOWN_EVENT_TYPE, "$.event_type", None, id="event-type-empty"),
    pytest.param(raw(doc(event_type=7)), R.UNKNOWN_EVENT_TYPE, "$.event_type", None, id="event-type-int"),
    pytest.param(raw(doc(event_type=None)), R.UNKNOWN_EVENT_TYPE, "$.event_type", None, id="event-type-null"),
    # MISSING_FIELD: top-level and nested, with the full path
    pytest.param(
        raw(doc(session_id=DROP)),
        R.MISSING_FIELD,
        "$.session_id",
        "Object missing required field `session_id`",
        id="missing-session-id",
    ),
    pytest.param(raw(doc(event_time=DROP)), R.MISSING_FIELD, "$.event_time", None, id="missing-event-time"),
    pytest.param(raw(doc(schema_version=DROP)), R.MISSING_FIELD, "$.schema_version", None, id="missing-schema-version"),
    pytest.param(raw(doc(page_type=DROP)), R.MISSING_FIELD, "$.page_type", None, id="missing-page-type"),
    pytest.param(
        purchase_item(product_id=DROP),
        R.MISSING_FIELD,
        "$.items[0].product_id",
        "Object missing required field `product_id`",
        id="missing-nested",
    ),
    # WRONG_TYPE: JSON type differs from the contract
    pytest.param(raw(doc(url=3)), R.WRONG_TYPE, "$.url", "Expected `str | null`, got `int`", id="wrong-type-optional"),
    pytest.param(
        purchase_item(quantity="1"),
        R.WRONG_TYPE,
        "$.items[0].quantity",
        "Expected `int`, got `str`",
        id="wrong-type-nested-quantity",
    ),
    pytest.param(purchase_item(quantity=1.5), R.WRONG_TYPE, "$.items[0].quantity", None, id="wrong-type-float-for-int"),
    pytest.param(raw(doc("purchase", items={})), R.WRONG_TYPE, "$.items", None, id="wrong-type-list"),
    pytest.param(
        raw(doc(event_time=1763719200)),
        R.WRONG_TYPE,
        "$.event_time",
        "Expected `datetime`, got `int`",
        id="wrong-type-epoch-time",
    ),
    pytest.param(
        raw(doc("email_signup", consent_marketing="yes")),
        R.WRONG_TYPE,
        "$.consent_marketing",
        None,
        id="wrong-type-bool",
    ),
    pytest.param(raw(doc(session_id=None)), R.WRONG_TYPE, "$.session_id", None, id="wrong-type-null-required"),
    # INVALID_VALUE: constraints, literals, naive or malformed times
    pytest.param(
        purchase_item(quantity=0),
        R.INVALID_VALUE,
        "$.items[0].quantity",
        "Expected `int` >= 1",
        id="invalid-quantity-zero",
    ),
    pytest.param(raw(doc("add_to_cart", quantity=0)), R.INVALID_VALUE, "$.quantity", None, id="invalid-cart-quantity"),
    pytest.param(
        purchase_item(unit_price=-0.01),
        R.INVALID_VALUE,
        "$.items[0].unit_price",
        None,
        id="invalid-negative-price",
    ),
    pytest.param(
        raw(doc("purchase", order_value=-1)), R.INVALID_VALUE, "$.order_value", None, id="invalid-order-value"
    ),
    pytest.param(
        raw(doc("survey_response", score=6)),
        R.INVALID_VALUE,
        "$.score",
        "Expected `int` <= 5",
        id="invalid-score-high",
    ),
    pytest.param(raw(doc("survey_response", score=0)), R.INVALID_VALUE, "$.score", None, id="invalid-score-low"),
    pytest.param(raw(doc("purchase", currency="eur")), R.INVALID_VALUE, "$.currency", None, id="invalid-currency"),
    pytest.param(
        raw(doc(page_type="landing")),
        R.INVALID_VALUE,
        "$.page_type",
        "Invalid enum value 'landing'",
        id="invalid-literal",
    ),
    pytest.param(raw(doc("session_end", reason="crashed")), R.INVALID_VALUE, "$.reason", None, id="invalid-end-reason"),
    pytest.param(
        raw(doc(event_time="2026-11-21T10:00:00.123")),
        R.INVALID_VALUE,
        "$.event_time",
        "Expected `datetime` with a timezone component",
        id="invalid-naive-time",
    ),
    pytest.param(raw(doc(event_time="yesterday")), R.INVALID_VALUE, "$.event_time", None, id="invalid-time-text"),
    pytest.param(raw(doc(event_id="")), R.INVALID_VALUE, "$.event_id", None, id="invalid-empty-id"),
    pytest.param(raw(doc(event_id="e" * 129)), R.INVALID_VALUE, "$.event_id", None, id="invalid-long-id"),
    pytest.param(raw(doc(user_id="")), R.INVALID_VALUE, "$.user_id", None, id="invalid-empty-user-id"),
    pytest.param(raw(doc("chat_message", text="x" * 2001)), R.INVALID_VALUE, "$.text", None, id="invalid-long-text"),
    pytest.param(
        raw(doc("email_signup", email_hash="ada@example.org")),
        R.INVALID_VALUE,
        "$.email_hash",
        None,
        id="invalid-raw-email",
    ),
    pytest.param(
        splice(doc("purchase"), b'"order_value": 1e999'),
        R.INVALID_VALUE,
        "$.order_value",
        None,
        id="invalid-number-out-of-range",
    ),
    pytest.param(raw(doc("add_to_cart", quantity=2**53)), R.INVALID_VALUE, "$.quantity", None, id="invalid-unsafe-int"),
    # UNSUPPORTED_SCHEMA_VERSION: anything but 1, before any field error
    pytest.param(
        raw(doc(schema_version=2)),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        "schema_version 2 is not supported; this reader accepts 1",
        id="version-2",
    ),
    pytest.param(raw(doc(schema_version=0)), R.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version", None, id="version-0"),
    pytest.param(
        raw(doc(schema_version="1")), R.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version", None, id="version-str"
    ),
    pytest.param(
        raw(doc(schema_version=True)),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        None,
        id="version-bool",
    ),
    pytest.param(
        raw(doc(schema_version=1.0)),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        None,
        id="version-float",
    ),
    pytest.param(
        raw(doc(schema_version=None)),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        None,
        id="version-null",
    ),
    pytest.param(
        splice(doc(schema_version=2, page_type=DROP), b'"url": 3'),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        None,
        id="version-wins-over-field-errors",
    ),
    pytest.param(
        raw(doc(schema_version=2, event_type="page_view_v2")),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "$.schema_version",
        None,
        id="version-wins-over-unknown-type",
    ),
    # MISSING_IDENTITY: neither user_id nor anonymous_id, only once everything else is valid
    pytest.param(
        raw(doc(user_id=DROP, anonymous_id=DROP)),
        R.MISSING_IDENTITY,
        None,
        "at least one of user_id or anonymous_id is required",
        id="identity-absent",
    ),
    pytest.param(raw(doc(user_id=None, anonymous_id=None)), R.MISSING_IDENTITY, None, None, id="identity-both-null"),
    pytest.param(
        raw(doc("purchase", user_id=None, anonymous_id=None, currency="eur")),
        R.INVALID_VALUE,
        "$.currency",
        None,
        id="field-error-wins-over-identity",
    ),
]


def _case_reasons() -> set[DeadLetterReason]:
    reasons = {param.values[1] for param in CASES}
    return {reason for reason in reasons if isinstance(reason, DeadLetterReason)}


def test_every_decoder_reason_has_a_case() -> None:
    assert _case_reasons() | {R.OVERSIZE} == DECODER_REASONS


@pytest.mark.parametrize(("data", "reason", "field", "detail"), CASES)
def test_bad_input_is_poison_with_one_reason(
    data: bytes, reason: DeadLetterReason, field: str | None, detail: str | None
) -> None:
    with pytest.raises(PoisonMessageError) as info:
        EventDecoder().decode(data)
    error = info.value
    assert (error.reason, error.field) == (reason, field)
    assert error.detail
    assert " - at `" not in error.detail
    if detail is not None:
        assert error.detail == detail
    assert str(error) == f"{reason.value}: {error.detail}"


def test_the_valid_documents_the_cases_start_from_decode() -> None:
    decoder = EventDecoder()
    for event_type, event in example_events().items():
        assert decoder.decode(raw(doc(event_type))) == event


@pytest.mark.parametrize(
    "data",
    [b"x" * (DEFAULT_MAX_BYTES + 1), b"{" * (DEFAULT_MAX_BYTES + 1), raw(doc(url="u" * DEFAULT_MAX_BYTES))],
    ids=["garbage", "nested", "valid-but-big"],
)
def test_oversize_is_checked_before_parsing(data: bytes) -> None:
    with pytest.raises(PoisonMessageError) as info:
        EventDecoder().decode(data)
    assert info.value.reason is R.OVERSIZE
    assert info.value.field is None
    assert f"{len(data)} bytes" in info.value.detail


def test_oversize_limit_is_inclusive() -> None:
    data = raw(doc())
    assert EventDecoder(max_bytes=len(data)).decode(data) == example_events()["page_view"]
    with pytest.raises(PoisonMessageError) as info:
        EventDecoder(max_bytes=len(data) - 1).decode(data)
    assert info.value.reason is R.OVERSIZE


def test_unknown_fields_are_ignored_at_every_level() -> None:
    document = doc("purchase", future_field={"nested": [1, 2]}, another="x")
    document["items"][0]["future_item_field"] = True
    assert EventDecoder().decode(raw(document)) == example_events()["purchase"]


def test_non_ascii_utf8_is_accepted() -> None:
    event = EventDecoder().decode(raw(doc("chat_message", text="Größe 43? 👟 ありがとう")))
    assert isinstance(event, type(example_events()["chat_message"]))
    assert getattr(event, "text", None) == "Größe 43? 👟 ありがとう"


@pytest.mark.parametrize(
    ("when", "offset_s"),
    [
        ("2026-11-21T10:00:00.123Z", 0),
        ("2026-11-21T10:00:00.123000400Z", 0),  # nanoseconds round to microseconds
        ("2026-11-21T11:00:00.123+01:00", 3600),
        ("2026-11-21T05:30:00.123-04:30", -16200),
    ],
)
def test_rfc3339_times_with_an_offset_are_accepted(when: str, offset_s: int) -> None:
    event = EventDecoder().decode(raw(doc(event_time=when)))
    offset = event.event_time.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == offset_s
    assert event.event_time == example_events()["page_view"].event_time


def test_poison_errors_chain_the_msgspec_error() -> None:
    with pytest.raises(PoisonMessageError) as info:
        EventDecoder().decode(purchase_item(quantity=0))
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


DECISION_CASES = [
    pytest.param({"propensity": 0.0}, R.INVALID_VALUE, "$.propensity", id="propensity-zero"),
    pytest.param({"propensity": 1.01}, R.INVALID_VALUE, "$.propensity", id="propensity-above-one"),
    pytest.param({"action": {"type": "teleport"}}, R.INVALID_VALUE, "$.action.type", id="unknown-action"),
    pytest.param({"action": {"product_id": "p"}}, R.MISSING_FIELD, "$.action.type", id="action-without-type"),
    pytest.param(
        {"action": {"type": "discount", "discount_pct": 120}},
        R.INVALID_VALUE,
        "$.action.discount_pct",
        id="pct",
    ),
    pytest.param({"policy_source": "magic"}, R.INVALID_VALUE, "$.policy_source", id="policy-source"),
    pytest.param({"attribution_window_s": 0}, R.INVALID_VALUE, "$.attribution_window_s", id="window-zero"),
    pytest.param({"guardrails": "max_discount_pct"}, R.WRONG_TYPE, "$.guardrails", id="guardrails-not-list"),
    pytest.param({"schema_version": 2}, R.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version", id="version"),
    pytest.param({"user_id": None}, R.MISSING_IDENTITY, None, id="identity"),
    pytest.param({"trigger_event_id": None}, R.WRONG_TYPE, "$.trigger_event_id", id="null-required"),
]


@pytest.mark.parametrize(("changes", "reason", "field"), DECISION_CASES)
def test_decision_decoder_names_reason_and_path(
    changes: dict[str, Any], reason: DeadLetterReason, field: str | None
) -> None:
    document = {**orjson.loads(encode(example_decision())), **changes}
    with pytest.raises(PoisonMessageError) as info:
        StructDecoder(Decision).decode(raw(document))
    assert (info.value.reason, info.value.field) == (reason, field)


def test_nested_candidate_errors_carry_their_index() -> None:
    document = orjson.loads(encode(example_decision()))
    document["candidates"][1]["propensity"] = 1.5
    with pytest.raises(PoisonMessageError) as info:
        decode_as(raw(document), Decision)
    assert (info.value.reason, info.value.field) == (R.INVALID_VALUE, "$.candidates[1].propensity")


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"component": "vibes"}, R.INVALID_VALUE, "$.component"),
        ({"final": 1}, R.WRONG_TYPE, "$.final"),
        ({"outcome_event_ids": [""]}, R.INVALID_VALUE, "$.outcome_event_ids[0]"),
        ({"event_time": "2026-11-21T10:00:00"}, R.INVALID_VALUE, "$.event_time"),
        ({"schema_version": 3}, R.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version"),
    ],
)
def test_reward_decoder_names_reason_and_path(
    changes: dict[str, Any], reason: DeadLetterReason, field: str | None
) -> None:
    document = {**orjson.loads(encode(example_reward())), **changes}
    with pytest.raises(PoisonMessageError) as info:
        decode_as(raw(document), Reward)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_rewards_need_no_identity() -> None:
    document = {**orjson.loads(encode(example_reward())), "user_id": None}
    assert decode_as(raw(document), Reward).user_id is None


def test_struct_decoder_applies_its_size_limit() -> None:
    data = encode(example_decision())
    with pytest.raises(PoisonMessageError) as info:
        StructDecoder(Decision, max_bytes=len(data) - 1).decode(data)
    assert info.value.reason is R.OVERSIZE


def test_nested_schema_version_errors_are_unsupported_version() -> None:
    with pytest.raises(PoisonMessageError) as info:
        StructDecoder(list[PageView]).decode(raw([doc(), doc(schema_version=2, user_id=None, anonymous_id=None)]))
    assert (info.value.reason, info.value.field) == (R.UNSUPPORTED_SCHEMA_VERSION, "$[1].schema_version")


def test_nested_identity_error_points_at_the_element() -> None:
    with pytest.raises(PoisonMessageError) as info:
        StructDecoder(list[PageView]).decode(raw([doc(), doc(user_id=None, anonymous_id=None)]))
    assert (info.value.reason, info.value.field) == (R.MISSING_IDENTITY, "$[1]")


@pytest.mark.parametrize(
    ("message", "tag_field", "reason", "field"),
    [
        ("Object missing required field `x` - at `$.a[3]`", None, R.MISSING_FIELD, "$.a[3].x"),
        ("Object missing required field `event_type`", None, R.MISSING_FIELD, "$.event_type"),
        ("Object missing required field `event_type`", "event_type", R.UNKNOWN_EVENT_TYPE, "$.event_type"),
        ("Invalid value 'x' - at `$.kind`", "kind", R.UNKNOWN_EVENT_TYPE, "$.kind"),
        ("Expected `object`, got `array`", None, R.NOT_AN_OBJECT, "$"),
        ("Expected `object`, got `array` - at `$.a`", None, R.WRONG_TYPE, "$.a"),
        ("Expected `int` >= 1 - at `$.a`", None, R.INVALID_VALUE, "$.a"),
        ("Invalid value 'weird - at `$.x` text' - at `$.a`", None, R.INVALID_VALUE, "$.a"),
        ("Something msgspec has not said before", None, R.INVALID_VALUE, None),
    ],
)
def test_validation_messages_map_to_reasons(
    message: str, tag_field: str | None, reason: DeadLetterReason, field: str | None
) -> None:
    error = poison_from_validation_error(msgspec.ValidationError(message), tag_field)
    assert (error.reason, error.field) == (reason, field)


def test_decode_json_is_schemaless() -> None:
    assert decode_json(b'{"event_type": "nonsense", "n": [1, 2.5, null]}') == {
        "event_type": "nonsense",
        "n": [1, 2.5, None],
    }
