"""Feature store configuration and the ``feature_store.yaml`` it renders (SQLite by default, Redis by URL)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from featurestore.errors import FeatureStoreConfigError

__all__ = [
    "PACKAGE_REPO_DIR",
    "PROJECT",
    "FeatureStoreConfig",
    "redis_connection_string",
    "render_feature_store_yaml",
]

PROJECT: Final = "kairos"
PACKAGE_REPO_DIR: Final = str(Path(__file__).resolve().parent / "repo")
"""The packaged, read-only Feast repository (``feature_store.yaml`` + ``definitions.py``)."""

REGISTRY_CACHE_TTL_S: Final = 60


@dataclass(frozen=True, slots=True)
class FeatureStoreConfig:
    """Where the Feast repository lives and which online store it uses.

    Attributes:
        repo_dir: the packaged repository whose ``definitions.py`` is copied into ``data_dir``.
        data_dir: the working repository: rendered ``feature_store.yaml``, registry, SQLite file, parquet history.
        online_store: ``"sqlite"`` (embedded, ``<data_dir>/online.db``) or a ``redis://host:port/db`` URL.
    """

    repo_dir: str = PACKAGE_REPO_DIR
    data_dir: str = "var/feast"
    online_store: str = "sqlite"


def redis_connection_string(url: str) -> str:
    """Translate a Redis URL into Feast's ``connection_string`` (``host:port,db=N[,password=..][,ssl=true]``).

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://...`` for TLS.

    Returns:
        The Feast Redis online store connection string.

    Raises:
        FeatureStoreConfigError: when ``url`` is not a Redis URL or its database is not a number.

    >>> redis_connection_string("redis://127.0.0.1:6380/2")
    '127.0.0.1:6380,db=2'
    >>> redis_connection_string("rediss://:s3cret@cache.internal")
    'cache.internal:6379,db=0,password=s3cret,ssl=true'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise FeatureStoreConfigError(f"online_store must be 'sqlite' or a redis:// URL, got {url!r}")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise FeatureStoreConfigError(f"redis database must be a number, got {db!r} in {url!r}")
    pieces = [f"{parts.hostname}:{parts.port or 6379}", f"db={db}"]
    if parts.password:
        pieces.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        pieces.append("ssl=true")
    return ",".join(pieces)


def _online_store_yaml(config: FeatureStoreConfig, data_dir: Path) -> list[str]:
    if config.online_store == "sqlite":
        return ["  type: sqlite", f"  path: {json.dumps(str(data_dir / 'online.db'))}"]
    connection = redis_connection_string(config.online_store)
    return ["  type: redis", "  redis_type: redis", f"  connection_string: {json.dumps(connection)}"]


def render_feature_store_yaml(config: FeatureStoreConfig) -> str:
    """Render the ``feature_store.yaml`` of ``config``, with absolute paths under its ``data_dir``.

    Args:
        config: the configuration.

    Returns:
        The YAML text (JSON-quoted scalars, which YAML reads as strings).

    Raises:
        FeatureStoreConfigError: when ``online_store`` is neither ``sqlite`` nor a Redis URL.
    """
    data_dir = Path(config.data_dir).resolve()
    lines = [
        f"project: {PROJECT}",
        "provider: local",
        "registry:",
        "  registry_type: file",
        f"  path: {json.dumps(str(data_dir / 'registry.db'))}",
        f"  cache_ttl_seconds: {REGISTRY_CACHE_TTL_S}",
        "online_store:",
        *_online_store_yaml(config, data_dir),
        "offline_store:",
        "  type: file",
        "entity_key_serialization_version: 3",
    ]
    return "\n".join(lines) + "\n"
