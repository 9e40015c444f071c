"""The one settings object: defaults, file, environment, overrides; unknown names rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from kairos.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_stack() -> None:
    settings = load_settings({})
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.topics.raw_events == "kairos.events.raw.v1"
    assert settings.topics.events == "kairos.events.v1"


def test_environment_maps_section_and_field_and_converts_types() -> None:
    settings = load_settings({"KAIROS_KAFKA_BOOTSTRAP": "kafka:9093", "KAIROS_INGEST_BATCH_SIZE": "250"})
    assert settings.kafka.bootstrap == "kafka:9093"
    assert settings.ingest.batch_size == 250


def test_environment_beats_file_and_overrides_beat_environment(tmp_path: Path) -> None:
    path = tmp_path / "kairos.toml"
    path.write_text('[topics]\nnamespace = "from-file"\npartitions = 8\n[kafka]\nbootstrap = "file:1"\n')
    settings = load_settings(
        {"KAIROS_CONFIG": str(path), "KAIROS_KAFKA_BOOTSTRAP": "env:2"}, topics={"namespace": "override"}
    )
    assert settings.kafka.bootstrap == "env:2"
    assert settings.topics.namespace == "override"
    assert settings.topics.partitions == 8
    assert settings.topics.events == "override.events.v1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"KAIROS_KAFKA_BOOTSTRAPS": "x"}, "unknown setting"),
        ({"KAIROS_NOPE_X": "1"}, "unknown setting KAIROS_NOPE_X"),
        ({"KAIROS_INGEST_BATCH_SIZE": "ten"}, "Expected `int`"),
    ],
)
def test_bad_names_and_values_are_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_unknown_file_section_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kairos.toml"
    path.write_text("[kafkaa]\nbootstrap = 'x'\n")
    with pytest.raises(SettingsError, match="unknown section"):
        load_settings({}, path)


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.kafka.bootstrap = "x"  # type: ignore[misc]
