"""Open a Feast store for a :class:`FeatureStoreConfig`: render its repository into the data dir and apply once."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path
from typing import Final

import feast
from feast import FeatureStore

from featurestore.config import FeatureStoreConfig, render_feature_store_yaml
from featurestore.errors import STORE_IO_ERRORS, FeatureStoreUnavailableError
from featurestore.history import ensure_offline_files
from featurestore.views import VIEWS, build_definitions

__all__ = ["APPLIED_MARKER", "definitions_fingerprint", "materialize_repo", "open_store"]

logger = logging.getLogger(__name__)

APPLIED_MARKER: Final = ".kairos-applied"
"""File in the data dir holding the fingerprint of the definitions last applied to its registry."""


def definitions_fingerprint(yaml_text: str, definitions_source: str) -> str:
    """Return a digest of everything an apply depends on: config, definitions, feature contract, Feast version.

    Args:
        yaml_text: the rendered ``feature_store.yaml``.
        definitions_source: the text of the repository's ``definitions.py``.

    Returns:
        A hex SHA-256 digest; equal digests mean the registry is current.
    """
    digest = hashlib.sha256()
    for part in (yaml_text, definitions_source, repr(VIEWS), feast.__version__):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def materialize_repo(config: FeatureStoreConfig) -> Path:
    """Write a runnable Feast repository for ``config`` into its data dir; the packaged repository stays untouched.

    The data dir receives ``feature_store.yaml`` (rendered), ``definitions.py`` (copied) and ``offline/`` (empty
    parquet histories when missing), so ``feast -c <data_dir> apply`` works there by hand.

    Args:
        config: the configuration.

    Returns:
        The data dir, absolute.
    """
    data_dir = Path(config.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    yaml_path = data_dir / "feature_store.yaml"
    yaml_text = render_feature_store_yaml(config)
    if not yaml_path.exists() or yaml_path.read_text() != yaml_text:
        yaml_path.write_text(yaml_text)
    source = Path(config.repo_dir) / "definitions.py"
    target = data_dir / "definitions.py"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    ensure_offline_files(data_dir / "offline")
    return data_dir


def open_store(config: FeatureStoreConfig) -> FeatureStore:
    """Open the Kairos Feast store of ``config``, applying the definitions unless its registry is already current.

    Args:
        config: the configuration.

    Returns:
        A :class:`feast.FeatureStore` whose registry holds the Kairos entities and feature views.

    Raises:
        FeatureStoreUnavailableError: when the online store does not answer during apply.
        FeatureStoreConfigError: when ``config.online_store`` is invalid.
    """
    data_dir = materialize_repo(config)
    fingerprint = definitions_fingerprint(
        (data_dir / "feature_store.yaml").read_text(), (data_dir / "definitions.py").read_text()
    )
    marker = data_dir / APPLIED_MARKER
    store = FeatureStore(repo_path=str(data_dir))
    registry_current = marker.exists() and marker.read_text() == fingerprint and (data_dir / "registry.db").exists()
    if registry_current:
        logger.debug("feast registry current data_dir=%s", data_dir)
        return store
    logger.info("feast apply data_dir=%s online_store=%s", data_dir, store.config.online_store.type)
    try:
        store.apply(build_definitions(data_dir / "offline"))
    except STORE_IO_ERRORS as exc:
        raise FeatureStoreUnavailableError(f"feast apply failed: {exc}") from exc
    marker.write_text(fingerprint)
    return store
