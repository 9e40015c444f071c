"""docs/schemas.md stays in step with the models: every type, field, reason and header is documented."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from schemas import (
    EVENT_CLASSES,
    DeadLetter,
    DeadLetterReason,
    Decision,
    EventBase,
    Reward,
    dead_letter_headers,
)
from schemas.events import LineItem

DOC = Path(__file__).resolve().parents[2] / "docs" / "schemas.md"
BASE_FIELDS = set(EventBase.__struct_fields__)


def _sections() -> dict[str, str]:
    """Markdown body by heading text."""
    parts = re.split(r"^#{2,4} (.+)$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _tables(body: str) -> list[set[str]]:
    """The first-column names (in backticks) of each table in ``body``."""
    tables: list[set[str]] = []
    current: set[str] | None = None
    for line in body.splitlines():
        match = re.match(r"^\| `([^`]+)` \|", line)
        if line.startswith("|"):
            if current is None:
                current = set()
                tables.append(current)
            if match:
                current.add(match[1])
        else:
            current = None
    return tables


def _section(fragment: str) -> str:
    matches = [body for heading, body in _sections().items() if fragment in heading]
    assert len(matches) == 1, f"expected one section headed with {fragment!r}"
    return matches[0]


def _own_fields(cls: type[msgspec.Struct]) -> set[str]:
    return set(cls.__struct_fields__) - BASE_FIELDS


def test_base_fields_table() -> None:
    assert _tables(_section("Base fields"))[0] == BASE_FIELDS | {"event_type"}


@pytest.mark.parametrize("event_type", sorted(EVENT_CLASSES))
def test_every_event_type_has_a_table_of_its_fields(event_type: str) -> None:
    tables = _tables(_section(f"`{event_type}`"))
    assert tables[0] == _own_fields(EVENT_CLASSES[event_type])


def test_line_item_decision_and_reward_tables() -> None:
    assert _tables(_section("`purchase`"))[1] == set(LineItem.__struct_fields__)
    assert _tables(_section("Decisions"))[0] == set(Decision.__struct_fields__)
    assert _tables(_section("Rewards"))[0] == set(Reward.__struct_fields__)


def test_every_reason_and_header_is_documented() -> None:
    decoder_reasons = set(DeadLetterReason) - {
        DeadLetterReason.CLOCK_SKEW_FUTURE,
        DeadLetterReason.CLOCK_SKEW_PAST,
        DeadLetterReason.LATE_EVENT,
        DeadLetterReason.UNATTRIBUTED,
    }
    assert _tables(_section("Decode failures"))[0] == {reason.value for reason in decoder_reasons}
    letter = DeadLetter(
        reason="r",
        detail="d",
        field="$.f",
        stage="s",
        error_type="E",
        source_topic="t",
        source_partition=0,
        source_offset=0,
        source_timestamp_ms=0,
        dead_lettered_at_ms=0,
        raw=b"",
        original_size=1,
        original_sha256="00",
        original_key_size=1,
        original_key_sha256="00",
    )
    assert _tables(_section("Dead-letter record contract"))[0] == {name for name, _ in dead_letter_headers(letter)}


def test_the_evolution_rule_is_stated() -> None:
    body = _section("Evolution rule")
    for phrase in (
        "must have defaults",
        "Never retype",
        "never rename",
        "Never reuse",
        "ignore unknown fields",
        ".v2",
    ):
        assert phrase in body
