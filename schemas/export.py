"""JSON Schema export: one file per event type plus the decision, reward and learning records, for publishers.

Run ``python -m schemas [DIRECTORY]`` (default: the committed ``schemas/jsonschema/``) after changing a
model; a unit test fails while the committed files differ from a fresh export.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from schemas.catalogue import CatalogueItem
from schemas.concierge import ConciergeMessage
from schemas.contexts import DecisionContext, PolicyRelease, example_decision_context, example_policy_release
from schemas.decisions import Decision
from schemas.events import EVENT_CLASSES, Event
from schemas.examples import (
    example_catalogue_item,
    example_concierge_message,
    example_decision,
    example_events,
    example_reward,
)
from schemas.rewards import Reward

__all__ = ["JSON_SCHEMA_DIR", "export_json_schemas", "json_schemas", "main"]

JSON_SCHEMA_DIR: Final = Path(__file__).parent / "jsonschema"
"""Where the committed JSON Schema files live (shipped as package data)."""

_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
_IDENTITY_FIELDS: Final = ("user_id", "anonymous_id")
_IDENTIFIED: Final = frozenset(
    {cls.__name__ for cls in EVENT_CLASSES.values()} | {Decision.__name__, ConciergeMessage.__name__}
)


def json_schemas() -> dict[str, bytes]:
    """Every JSON Schema document, by file name, rendered deterministically (sorted keys, 2-space indent).

    ``<event_type>.json`` per event type, ``event.json`` for the union (any event), ``decision.json``,
    ``reward.json``, ``catalogue_item.json`` and ``concierge_message.json``; each but the union carries its
    :mod:`schemas.examples` instance under ``examples``.

    >>> sorted(json_schemas())[:3]
    ['add_to_cart.json', 'catalogue_item.json', 'chat_message.json']
    """
    examples: dict[str, msgspec.Struct] = {f"{name}.json": event for name, event in example_events().items()}
    examples["decision.json"] = example_decision()
    examples["reward.json"] = example_reward()
    examples["catalogue_item.json"] = example_catalogue_item()
    examples["concierge_message.json"] = example_concierge_message()
    examples["decision_context.json"] = example_decision_context()
    examples["policy_release.json"] = example_policy_release()
    documents: dict[str, Any] = {f"{name}.json": msgspec.json.schema(cls) for name, cls in EVENT_CLASSES.items()}
    documents["event.json"] = msgspec.json.schema(Event)
    documents["decision.json"] = msgspec.json.schema(Decision)
    documents["reward.json"] = msgspec.json.schema(Reward)
    documents["catalogue_item.json"] = msgspec.json.schema(CatalogueItem)
    documents["concierge_message.json"] = msgspec.json.schema(ConciergeMessage)
    documents["decision_context.json"] = msgspec.json.schema(DecisionContext)
    documents["policy_release.json"] = msgspec.json.schema(PolicyRelease)
    for name, example in examples.items():
        documents[name]["examples"] = [msgspec.to_builtins(example)]
    return {name: _render(name, _with_identity_rule(document)) for name, document in sorted(documents.items())}


def export_json_schemas(directory: Path) -> list[Path]:
    """Write :func:`json_schemas` into ``directory`` (created if needed), overwriting files of the same name.

    Args:
        directory: the target directory.

    Returns:
        The written paths, sorted by name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in json_schemas().items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: export into ``argv[0]`` or :data:`JSON_SCHEMA_DIR` and list the files written.

    Returns:
        The process exit status (0).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    directory = Path(args[0]) if args else JSON_SCHEMA_DIR
    for path in export_json_schemas(directory):
        print(path)
    return 0


def _with_identity_rule(document: dict[str, Any]) -> dict[str, Any]:
    """Spell out the ``__post_init__`` identity rule, which msgspec cannot see: a non-null id is required."""
    for title, definition in document.get("$defs", {}).items():
        if title in _IDENTIFIED:
            definition["anyOf"] = [
                {"properties": {name: {"type": "string"}}, "required": [name]} for name in _IDENTITY_FIELDS
            ]
    return document


def _render(name: str, document: dict[str, Any]) -> bytes:
    document = {"$schema": _DIALECT, "$id": name, **document}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
