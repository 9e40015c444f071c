"""Feature store: the Feast repository generated from the feature contract, and the read/write adapters."""

import os

# Importing Feast switches prometheus_client to multiprocess mode for the whole process (its metrics module sets
# PROMETHEUS_MULTIPROC_DIR to a temp dir, for its gunicorn feature server), so every metric created afterwards keeps
# its values in shared files, child processes inherit the mode, and fresh registries with the same metric names add
# up. Kairos serves its own in-process registry: fix prometheus_client's value class first, then take Feast's
# variables back out.
import prometheus_client.values  # noqa: F401  (before Feast: the value class is chosen at this import)
from feast import metrics as _feast_metrics

if _feast_metrics._owns_mp_dir:
    for _name in ("PROMETHEUS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        if os.environ.get(_name) == _feast_metrics._prometheus_mp_dir:
            del os.environ[_name]

from featurestore.config import PACKAGE_REPO_DIR, FeatureStoreConfig, redis_connection_string, render_feature_store_yaml
from featurestore.errors import (
    FeatureRowError,
    FeatureStoreConfigError,
    FeatureStoreUnavailableError,
    UnknownFeatureViewError,
)
from featurestore.reader import DecisionFeatures, FeastSdkReader
from featurestore.store import materialize_repo, open_store
from featurestore.views import EVENT_TIMESTAMP, FEAST_DTYPES, VIEWS, ViewSpec, build_definitions, view_spec
from featurestore.writer import OnlineFeatureWriter

__all__ = [
    "EVENT_TIMESTAMP",
    "FEAST_DTYPES",
    "PACKAGE_REPO_DIR",
    "VIEWS",
    "DecisionFeatures",
    "FeastSdkReader",
    "FeatureRowError",
    "FeatureStoreConfig",
    "FeatureStoreConfigError",
    "FeatureStoreUnavailableError",
    "OnlineFeatureWriter",
    "UnknownFeatureViewError",
    "ViewSpec",
    "build_definitions",
    "materialize_repo",
    "open_store",
    "redis_connection_string",
    "render_feature_store_yaml",
    "view_spec",
]
