"""Feast entities, sources and feature views generated from the feature contract in :mod:`schemas.features`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import pyarrow as pa
from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.feast_object import FeastObject
from feast.types import Array, Bool, FeastType, Float64, Int64, String

from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES, FeatureSpec, FeatureType

__all__ = [
    "EVENT_TIMESTAMP",
    "FEAST_DTYPES",
    "VIEWS",
    "ViewSpec",
    "build_definitions",
    "build_entities",
    "feature_view",
    "offline_schema",
    "view_spec",
]

EVENT_TIMESTAMP: Final = "event_timestamp"
"""The event-time column every row carries (tz-aware), in pushes, online writes and the parquet history."""

FEAST_DTYPES: Final[dict[FeatureType, FeastType]] = {
    "int64": Int64,
    "float64": Float64,
    "bool": Bool,
    "string": String,
    "string_list": Array(String),
}
"""Contract dtype to Feast type; every :data:`schemas.features.FeatureType` has an entry."""

_ARROW_DTYPES: Final[dict[FeatureType, pa.DataType]] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "string_list": pa.list_(pa.string()),
}


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """One Kairos feature view: its Feast names, its entity and join key, its TTL and its contract features."""

    name: str
    entity: str
    join_key: str
    ttl: timedelta
    features: tuple[FeatureSpec, ...]
    description: str

    @property
    def push_source(self) -> str:
        """Name of the push source that streaming writers target."""
        return f"{self.name}_push"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The contract's feature names, in contract order."""
        return tuple(spec.name for spec in self.features)


VIEWS: Final[tuple[ViewSpec, ...]] = (
    ViewSpec("kairos_user", "user", "user_id", timedelta(days=400), USER_FEATURES, "per-user lifetime features"),
    ViewSpec("kairos_session", "session", "session_id", timedelta(days=1), SESSION_FEATURES, "per-session features"),
    ViewSpec("kairos_product", "product", "product_id", timedelta(days=7), PRODUCT_FEATURES, "per-product features"),
)
"""The three feature views, in the order a decision reads them."""

_ENTITY_JOIN_KEYS: Final[dict[str, str]] = {
    "user": "user_id",
    "session": "session_id",
    "product": "product_id",
    "category": "category",
}


def view_spec(name: str) -> ViewSpec:
    """Return the view called ``name``.

    Args:
        name: a feature view name such as ``kairos_user``.

    Returns:
        Its :class:`ViewSpec`.

    Raises:
        KeyError: when no Kairos view has that name.

    >>> view_spec("kairos_session").join_key
    'session_id'
    """
    for view in VIEWS:
        if view.name == name:
            return view
    raise KeyError(name)


def build_entities() -> dict[str, Entity]:
    """Return the Feast entities by name: user, session, product and category (all string-keyed)."""
    return {
        name: Entity(name=name, join_keys=[key], value_type=ValueType.STRING, description=f"keyed by {key}")
        for name, key in _ENTITY_JOIN_KEYS.items()
    }


def offline_schema(view: ViewSpec) -> pa.Schema:
    """Return the parquet schema of a view's offline history: join key, features, then ``event_timestamp``.

    Args:
        view: the view.

    Returns:
        The pyarrow schema its :class:`feast.FileSource` file must have.
    """
    fields = [pa.field(view.join_key, pa.string())]
    fields += [pa.field(spec.name, _ARROW_DTYPES[spec.dtype]) for spec in view.features]
    fields.append(pa.field(EVENT_TIMESTAMP, pa.timestamp("us", tz="UTC")))
    return pa.schema(fields)


def feature_view(view: ViewSpec, entity: Entity, offline_dir: Path) -> FeatureView:
    """Build one Feast feature view backed by a push source over a parquet file source.

    Args:
        view: the view to build.
        entity: its Feast entity (from :func:`build_entities`).
        offline_dir: directory of the parquet histories; the view's parts are under ``<offline_dir>/<view>/``.

    Returns:
        The :class:`feast.FeatureView`, online and with its contract features in contract order.
    """
    batch = FileSource(
        name=f"{view.name}_history",
        path=str(offline_dir / view.name),
        timestamp_field=EVENT_TIMESTAMP,
    )
    push = PushSource(name=view.push_source, batch_source=batch)
    schema = [Field(name=view.join_key, dtype=String)]
    schema += [
        Field(name=spec.name, dtype=FEAST_DTYPES[spec.dtype], description=spec.description) for spec in view.features
    ]
    return FeatureView(
        name=view.name,
        entities=[entity],
        ttl=view.ttl,
        schema=schema,
        source=push,
        online=True,
        description=view.description,
        tags={"owner": "kairos"},
    )


def build_definitions(offline_dir: Path) -> list[FeastObject]:
    """Return every Feast object of the Kairos repository, ready for :meth:`feast.FeatureStore.apply`.

    Args:
        offline_dir: directory of the parquet histories (absolute, so the registry is independent of the cwd).

    Returns:
        The four entities followed by the three feature views (their sources are applied with them).
    """
    entities = build_entities()
    objects: list[FeastObject] = list(entities.values())
    objects += [feature_view(view, entities[view.entity], offline_dir) for view in VIEWS]
    return objects
