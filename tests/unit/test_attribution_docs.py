"""``docs/attribution.md`` names every setting, rule, verdict, reason and module of ``streams.attribution``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import streams.attribution
from streams.attribution import (
    Aggregation,
    AttributionConfig,
    ComponentRule,
    CreditRule,
    Intake,
    UnattributedReason,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "attribution.md").read_text()
MODULES = sorted(p.name for p in Path(streams.attribution.__file__).parent.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(AttributionConfig)])
def test_every_config_field_is_documented(name: str) -> None:
    assert f"`{name}`" in DOC


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(ComponentRule)])
def test_every_component_rule_field_is_documented(name: str) -> None:
    assert f"`{name}`" in DOC


@pytest.mark.parametrize(
    "value", [*map(str, Aggregation), *map(str, CreditRule), *map(str, Intake), *map(str, UnattributedReason)]
)
def test_every_rule_verdict_and_reason_is_documented(value: str) -> None:
    assert value in DOC


@pytest.mark.parametrize("module", MODULES)
def test_every_module_is_in_the_table(module: str) -> None:
    assert f"| `{module}` |" in DOC
