"""Erasure of entity rows: from the online store (SQLite or Redis) and from the parquet offline history."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast import FeatureStore
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _redis_key, compute_table_id
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from featurestore.errors import STORE_IO_ERRORS, FeatureStoreUnavailableError
from featurestore.history import history_dir
from featurestore.views import ViewSpec

__all__ = ["erase_history", "erase_online"]

logger = logging.getLogger(__name__)


def _entity_key(spec: ViewSpec, key: str) -> EntityKeyProto:
    return EntityKeyProto(join_keys=[spec.join_key], entity_values=[ValueProto(string_val=key)])


def erase_online(store: FeatureStore, spec: ViewSpec, keys: Sequence[str]) -> int:
    """Delete the rows of ``keys`` in ``spec``'s view from the online store; returns how many entities had one.

    Feast 0.67 has no per-entity delete (``delete_entity_values`` drops every entity of a join key), so this
    deletes where Feast's own SQLite and Redis stores keep a row: the ``entity_key`` rows of the view's table, or
    the entity's Redis hash (the user entity's hash holds only the user view).

    Raises:
        FeatureStoreUnavailableError: the online store did not answer, or is of a kind this cannot erase from.
    """
    config = store.config
    online = store._get_provider().online_store  # Feast has no public per-entity delete
    version = config.entity_key_serialization_version
    kind = config.online_store.type
    try:
        if kind == "sqlite":
            view = store.get_feature_view(spec.name)
            table = compute_table_id(config.project, view, config.registry.enable_online_feature_view_versioning)
            conn = online._get_conn(config)  # type: ignore[attr-defined]
            erased = 0
            with conn:
                for key in keys:
                    blob = serialize_entity_key(_entity_key(spec, key), entity_key_serialization_version=version)
                    cursor = conn.execute(f'DELETE FROM "{table}" WHERE entity_key = ?', (blob,))
                    erased += cursor.rowcount > 0
            return erased
        if kind == "redis":
            client = online._get_client(config.online_store)  # type: ignore[attr-defined]
            names = [_redis_key(config.project, _entity_key(spec, key), version) for key in keys]
            return int(client.delete(*names)) if names else 0
    except STORE_IO_ERRORS as exc:
        raise FeatureStoreUnavailableError(f"online erase from {spec.name} failed: {exc}") from exc
    raise FeatureStoreUnavailableError(f"cannot erase from a {kind} online store")


def erase_history(offline_dir: Path, spec: ViewSpec, keys: Sequence[str]) -> int:
    """Rewrite every parquet part of ``spec``'s history that holds a row of ``keys`` without those rows (each part
    replaced atomically); returns how many rows were removed."""
    gone = pa.array(sorted(set(keys)), type=pa.string())
    removed = 0
    for part in sorted(history_dir(offline_dir, spec).glob("*.parquet")):
        table = pq.read_table(part)
        hit = pc.is_in(table[spec.join_key], value_set=gone)
        n = pc.sum(hit).as_py() or 0
        if not n:
            continue
        tmp = part.with_suffix(".tmp")
        pq.write_table(table.filter(pc.invert(hit)), tmp)
        tmp.replace(part)
        removed += n
    return removed
