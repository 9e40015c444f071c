"""The writer turns a batch of rows into exactly one Feast call, and refuses rows the contract does not allow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
import redis.exceptions
from feast import FeatureStore

from featurestore.errors import FeatureRowError, FeatureStoreUnavailableError, UnknownFeatureViewError
from featurestore.views import VIEWS, ViewSpec, view_spec
from featurestore.writer import OnlineFeatureWriter

SAMPLE: dict[str, object] = {"int64": 2, "float64": 0.25, "bool": True, "string": "shoes", "string_list": ["p1"]}


class FakeStore:
    """Records ``write_to_online_store`` calls; optionally fails like a down Redis."""

    def __init__(self, repo_path: Path, fail: bool = False) -> None:
        self.repo_path = repo_path
        self.calls: list[tuple[str, pd.DataFrame]] = []
        self.fail = fail

    def write_to_online_store(self, view: str, df: pd.DataFrame) -> None:
        if self.fail:
            raise redis.exceptions.ConnectionError("connection refused")
        self.calls.append((view, df))


def _row(view: ViewSpec, key: str) -> dict[str, Any]:
    row: dict[str, Any] = {view.join_key: key, "event_timestamp": datetime(2026, 1, 2, tzinfo=UTC), "extra": 1}
    row.update({spec.name: SAMPLE[spec.dtype] for spec in view.features})
    return row


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_one_call_per_batch_with_contract_columns(tmp_path: Path, view: ViewSpec) -> None:
    store = FakeStore(tmp_path)
    OnlineFeatureWriter(cast(FeatureStore, store)).write(view.name, [_row(view, "a"), _row(view, "b")])
    assert len(store.calls) == 1
    name, frame = store.calls[0]
    assert name == view.name
    assert list(frame.columns) == [view.join_key, *view.feature_names, "event_timestamp"]
    assert list(frame[view.join_key]) == ["a", "b"]
    assert str(frame["event_timestamp"].dtype).endswith("UTC]")


def test_empty_batch_writes_nothing(tmp_path: Path) -> None:
    store = FakeStore(tmp_path)
    OnlineFeatureWriter(cast(FeatureStore, store)).write("kairos_user", [])
    assert store.calls == []


def test_missing_feature_is_refused(tmp_path: Path) -> None:
    row = _row(view_spec("kairos_session"), "s1")
    del row["cart_value"]
    with pytest.raises(FeatureRowError, match="cart_value"):
        OnlineFeatureWriter(cast(FeatureStore, FakeStore(tmp_path))).write("kairos_session", [row])


def test_unknown_view_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownFeatureViewError):
        OnlineFeatureWriter(cast(FeatureStore, FakeStore(tmp_path))).write("kairos_basket", [{"x": 1}])


def test_store_down_is_transient(tmp_path: Path) -> None:
    store = FakeStore(tmp_path, fail=True)
    with pytest.raises(FeatureStoreUnavailableError):
        OnlineFeatureWriter(cast(FeatureStore, store)).write("kairos_user", [_row(view_spec("kairos_user"), "u1")])
