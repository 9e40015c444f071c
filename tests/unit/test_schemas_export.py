"""JSON Schema export: the committed files equal a fresh export, and they say what the decoders enforce."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import EVENT_TYPES, JSON_SCHEMA_DIR, export_json_schemas
from schemas.export import json_schemas, main

EXPECTED_FILES = {f"{name}.json" for name in EVENT_TYPES} | {
    "event.json",
    "decision.json",
    "reward.json",
    "catalogue_item.json",
    "concierge_message.json",
    "decision_context.json",
    "policy_release.json",
}


def test_committed_schemas_equal_a_fresh_export() -> None:
    """Fails after a model change until ``python -m schemas`` is run and the files are committed."""
    committed = {path.name: path.read_bytes() for path in JSON_SCHEMA_DIR.glob("*.json")}
    fresh = json_schemas()
    assert set(committed) == set(fresh), "stale or missing files: run `python -m schemas`"
    stale = sorted(name for name in fresh if committed[name] != fresh[name])
    assert stale == [], "run `python -m schemas` and commit schemas/jsonschema/"


def test_export_writes_one_file_per_contract(tmp_path: Path) -> None:
    written = export_json_schemas(tmp_path / "out")
    assert {path.name for path in written} == EXPECTED_FILES
    assert written == sorted(written)
    assert all(path.read_bytes() == json_schemas()[path.name] for path in written)


def test_export_is_deterministic_and_pretty() -> None:
    first, second = json_schemas(), json_schemas()
    assert first == second
    text = first["purchase.json"].decode()
    assert text.endswith("}\n")
    assert '\n  "$defs": {' in text
    document = json.loads(text)
    assert json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text


def test_event_schema_states_tag_constraints_and_identity_rule() -> None:
    document = json.loads(json_schemas()["purchase.json"])
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    purchase = document["$defs"]["Purchase"]
    assert purchase["properties"]["event_type"] == {"enum": ["purchase"]}
    assert purchase["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    assert purchase["properties"]["schema_version"]["minimum"] == 1
    assert purchase["properties"]["schema_version"]["maximum"] == 1
    assert document["$defs"]["LineItem"]["properties"]["quantity"]["minimum"] == 1
    assert {"event_type", "event_id", "event_time", "schema_version", "session_id"} <= set(purchase["required"])
    assert [option["required"] for option in purchase["anyOf"]] == [["user_id"], ["anonymous_id"]]
    assert document["examples"][0]["event_type"] == "purchase"


def test_union_schema_lists_every_event_type() -> None:
    document = json.loads(json_schemas()["event.json"])
    tags = {
        definition["properties"]["event_type"]["enum"][0]
        for definition in document["$defs"].values()
        if "event_type" in definition.get("properties", {})
    }
    assert tags == EVENT_TYPES
    assert document["discriminator"]["propertyName"] == "event_type"


def test_rewards_carry_no_identity_rule() -> None:
    reward = json.loads(json_schemas()["reward.json"])["$defs"]["Reward"]
    decision = json.loads(json_schemas()["decision.json"])["$defs"]["Decision"]
    assert "anyOf" not in reward
    assert "anyOf" in decision


def test_main_exports_into_the_given_directory(tmp_path: Path, capsys: object) -> None:
    assert main([str(tmp_path)]) == 0
    assert {path.name for path in tmp_path.iterdir()} == EXPECTED_FILES
