"""The Feast definitions follow the feature contract exactly: every dtype mapped, every name and nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest
from feast import Entity, FeatureView, FileSource, PushSource
from feast.types import Array, Bool, Float64, Int64, String

from featurestore.views import FEAST_DTYPES, VIEWS, ViewSpec, build_definitions, offline_schema, view_spec
from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES, FeatureSpec, FeatureType

ALL_SPECS = (*SESSION_FEATURES, *USER_FEATURES, *PRODUCT_FEATURES)


def test_every_contract_dtype_has_a_feast_type() -> None:
    assert set(FEAST_DTYPES) == set(get_args(FeatureType))


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.name)
def test_every_spec_maps_to_its_feast_type(spec: FeatureSpec) -> None:
    expected = {"int64": Int64, "float64": Float64, "bool": Bool, "string": String, "string_list": Array(String)}
    assert FEAST_DTYPES[spec.dtype] == expected[spec.dtype]


def _views(tmp_path: Path) -> dict[str, FeatureView]:
    return {obj.name: obj for obj in build_definitions(tmp_path) if isinstance(obj, FeatureView)}


@pytest.mark.parametrize(
    ("name", "specs", "join_key", "ttl"),
    [
        ("kairos_user", USER_FEATURES, "user_id", timedelta(days=400)),
        ("kairos_session", SESSION_FEATURES, "session_id", timedelta(days=1)),
        ("kairos_product", PRODUCT_FEATURES, "product_id", timedelta(days=7)),
    ],
)
def test_view_holds_exactly_the_contract_features(
    tmp_path: Path, name: str, specs: tuple[FeatureSpec, ...], join_key: str, ttl: timedelta
) -> None:
    view = _views(tmp_path)[name]
    assert [f.name for f in view.features] == [s.name for s in specs]
    assert [f.dtype for f in view.features] == [FEAST_DTYPES[s.dtype] for s in specs]
    assert view_spec(name).features == specs
    assert view.join_keys == [join_key]
    assert view.ttl == ttl
    assert view.online
    assert isinstance(view.stream_source, PushSource)
    assert view.stream_source.name == f"{name}_push"
    assert isinstance(view.batch_source, FileSource)
    assert view.batch_source.path == str(tmp_path / name)


def test_definitions_declare_the_four_entities(tmp_path: Path) -> None:
    entities = {obj.name: obj.join_key for obj in build_definitions(tmp_path) if isinstance(obj, Entity)}
    assert entities == {"user": "user_id", "session": "session_id", "product": "product_id", "category": "category"}


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_offline_schema_is_key_features_timestamp(view: ViewSpec) -> None:
    schema = offline_schema(view)
    assert schema.names == [view.join_key, *view.feature_names, "event_timestamp"]
    assert str(schema.field("event_timestamp").type) == "timestamp[us, tz=UTC]"


def test_unknown_view_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        view_spec("kairos_basket")
