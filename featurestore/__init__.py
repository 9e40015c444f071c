"""Feature store: the Feast repository generated from the feature contract, and the read/write adapters."""

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
