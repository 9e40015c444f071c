"""docs/configuration.md documents every setting, with its environment variable and default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kairos.settings import ENV_PREFIX, Settings, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text()
    settings = Settings()
    for section in (f.name for f in dataclasses.fields(Settings)):
        values = getattr(settings, section)
        for f in dataclasses.fields(values):
            env = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            row = next((line for line in text.splitlines() if f"`{env}`" in line), None)
            assert row is not None, f"{env} is not documented"
            assert f"`{getattr(values, f.name)!r}`" in row, f"{env}: documented default is stale"


def test_the_example_production_config_loads() -> None:
    path = DOC.parents[1] / "deploy" / "kairos.example.toml"
    assert load_settings({}, path).topics.replication_factor == 3
