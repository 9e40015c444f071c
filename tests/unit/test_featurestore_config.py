"""The rendered ``feature_store.yaml``: SQLite under the data dir by default, Redis by URL, bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from feast.repo_config import RepoConfig

from featurestore.config import FeatureStoreConfig, redis_connection_string, render_feature_store_yaml
from featurestore.errors import FeatureStoreConfigError


def _render(tmp_path: Path, online_store: str) -> dict[str, object]:
    config = FeatureStoreConfig(data_dir=str(tmp_path / "feast"), online_store=online_store)
    data: dict[str, object] = yaml.safe_load(render_feature_store_yaml(config))
    RepoConfig(repo_path=tmp_path, **data)  # Feast itself accepts it (extra keys are rejected there)
    return data


def test_sqlite_by_default_under_the_data_dir(tmp_path: Path) -> None:
    data = _render(tmp_path, FeatureStoreConfig().online_store)
    assert data["project"] == "kairos"
    assert data["online_store"] == {"type": "sqlite", "path": str(tmp_path / "feast" / "online.db")}
    assert data["registry"]["path"] == str(tmp_path / "feast" / "registry.db")  # type: ignore[index]
    assert data["offline_store"] == {"type": "file"}


def test_redis_url_becomes_a_connection_string(tmp_path: Path) -> None:
    data = _render(tmp_path, "redis://10.0.0.5:6380/3")
    assert data["online_store"] == {
        "type": "redis",
        "redis_type": "redis",
        "connection_string": "10.0.0.5:6380,db=3",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost", "localhost:6379,db=0"),
        ("redis://localhost:6379/", "localhost:6379,db=0"),
        ("redis://:p%40ss@h:1/2", "h:1,db=2,password=p@ss"),
        ("rediss://h:6390/1", "h:6390,db=1,ssl=true"),
    ],
)
def test_redis_connection_string(url: str, expected: str) -> None:
    assert redis_connection_string(url) == expected


@pytest.mark.parametrize("online_store", ["", "postgres://h/1", "redis://h/abc", "redis:///0", "Redis"])
def test_invalid_online_store_is_refused(tmp_path: Path, online_store: str) -> None:
    with pytest.raises(FeatureStoreConfigError):
        render_feature_store_yaml(FeatureStoreConfig(data_dir=str(tmp_path), online_store=online_store))


def test_config_is_frozen() -> None:
    config = FeatureStoreConfig()
    with pytest.raises(AttributeError):
        config.online_store = "redis://h"  # type: ignore[misc]
    assert Path(config.repo_dir, "feature_store.yaml").is_file()
    assert Path(config.repo_dir, "definitions.py").is_file()
