"""Event models: the type registry, identity and time rules, partition keys, the public API surface."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

import schemas
from schemas import (
    CURRENT_SCHEMA_VERSION,
    EVENT_CLASSES,
    EVENT_TYPES,
    ContractViolationError,
    DeadLetterReason,
    Decision,
    PageView,
    PoisonMessageError,
    Reward,
    email_hash,
)
from schemas.examples import EXAMPLE_TIME, example_decision, example_events, example_reward

EXPECTED_TYPES = {
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
    "chat_message",
    "email_signup",
    "consent_update",
    "survey_response",
    "session_end",
    "exit_intent",
    "intervention_impression",
    "intervention_click",
    "intervention_dismiss",
}
BASE_FIELDS = ("event_id", "event_time", "schema_version", "session_id", "user_id", "anonymous_id", "device")


def test_the_event_types_are_the_contracted_ones() -> None:
    assert EVENT_TYPES == EXPECTED_TYPES
    assert CURRENT_SCHEMA_VERSION == 1


@pytest.mark.parametrize("event_type", sorted(EXPECTED_TYPES))
def test_every_event_type_has_the_base_fields_and_is_frozen(event_type: str) -> None:
    cls = EVENT_CLASSES[event_type]
    assert set(BASE_FIELDS) <= set(cls.__struct_fields__)
    config = cls.__struct_config__
    assert (config.tag_field, config.tag, config.frozen) == ("event_type", event_type, True)
    assert config.forbid_unknown_fields is False
    with pytest.raises(TypeError):
        cls("e-1")  # type: ignore[call-arg]  # keyword-only
    event = example_events()[event_type]
    assert event.event_type == event_type
    with pytest.raises(AttributeError):
        event.event_id = "other"  # type: ignore[misc]


def test_partition_key_prefers_the_user_id() -> None:
    event = example_events()["product_view"]
    assert (event.user_id, event.partition_key) == ("u-1", "u-1")
    both = msgspec.structs.replace(event, anonymous_id="a-9")
    assert both.partition_key == "u-1"
    anonymous = msgspec.structs.replace(event, user_id=None, anonymous_id="a-9")
    assert anonymous.partition_key == "a-9"


def test_building_an_event_without_identity_fails() -> None:
    with pytest.raises(ContractViolationError) as info:
        PageView(event_id="e", event_time=EXAMPLE_TIME, schema_version=1, session_id="s", page_type="home")
    assert info.value.reason is DeadLetterReason.MISSING_IDENTITY
    assert isinstance(info.value, PoisonMessageError)


@pytest.mark.parametrize(
    "build",
    [
        lambda t: PageView(event_id="e", event_time=t, schema_version=1, session_id="s", user_id="u",
                           page_type="home"),
        lambda t: msgspec.structs.replace(example_decision(), event_time=t),
        lambda t: msgspec.structs.replace(example_reward(), event_time=t),
    ],
    ids=["event", "decision", "reward"],
)  # fmt: skip
def test_building_with_a_naive_time_fails(build: object) -> None:
    assert callable(build)
    with pytest.raises(ContractViolationError) as info:
        build(datetime(2026, 11, 21, 10))
    assert (info.value.reason, info.value.field) == (DeadLetterReason.INVALID_VALUE, "$.event_time")


def test_a_decision_needs_an_identity_a_reward_does_not() -> None:
    with pytest.raises(ContractViolationError):
        msgspec.structs.replace(example_decision(), user_id=None)
    assert msgspec.structs.replace(example_reward(), user_id=None).user_id is None
    assert isinstance(example_decision(), Decision)
    assert isinstance(example_reward(), Reward)


def test_email_hash_is_keyed_and_never_the_address() -> None:
    digest = email_hash("Ada@Example.org", key=b"pepper")
    assert digest == email_hash("  ada@example.org", key=b"pepper")
    assert digest != email_hash("ada@example.org", key=b"other pepper")
    assert "@" not in digest
    assert len(digest) == 64


def test_public_api_is_declared_and_importable() -> None:
    assert len(schemas.__all__) == len(set(schemas.__all__))
    missing = [name for name in schemas.__all__ if not hasattr(schemas, name)]
    assert missing == []
    assert schemas.__doc__ is not None
    assert schemas.__doc__.startswith("Wire contracts:")
