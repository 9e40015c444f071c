"""Read one decision's features (user, session, candidate products) through the Feast SDK: the reference reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from feast import FeatureStore

from featurestore.errors import STORE_IO_ERRORS, FeatureStoreUnavailableError
from featurestore.views import VIEWS, ViewSpec

__all__ = ["DecisionFeatures", "FeastSdkReader"]

FeatureValues = dict[str, object]


class DecisionFeatures(TypedDict):
    """One decision's features by entity; a feature the store lacks (unknown entity, expired TTL) is ``None``."""

    user: FeatureValues
    session: FeatureValues
    products: dict[str, FeatureValues]


class FeastSdkReader:
    """Reads with ``FeatureStore.get_online_features``: the anchor faster in-process readers are measured against.

    One :meth:`read` is one SDK call: the entity rows carry the user, the session and one product each, and Feast
    deduplicates the user and session keys before it reads them.

    Args:
        store: an applied store, e.g. from :func:`featurestore.open_store`.
    """

    def __init__(self, store: FeatureStore) -> None:
        self._store = store
        self._user, self._session, self._product = VIEWS
        self._refs_without_products = [*_refs(self._user), *_refs(self._session)]
        self._refs_with_products = [*self._refs_without_products, *_refs(self._product)]

    def read(self, user_id: str, session_id: str, product_ids: Sequence[str]) -> DecisionFeatures:
        """Read the features of one decision.

        Args:
            user_id: the user.
            session_id: the session.
            product_ids: the candidate products (may be empty).

        Returns:
            The user's, the session's and each product's features, by feature name.

        Raises:
            FeatureStoreUnavailableError: when the online store does not answer.
        """
        keys = {self._user.join_key: user_id, self._session.join_key: session_id}
        if product_ids:
            rows = [{**keys, self._product.join_key: product_id} for product_id in product_ids]
            refs = self._refs_with_products
        else:
            rows = [keys]
            refs = self._refs_without_products
        try:
            columns = self._store.get_online_features(refs, rows, full_feature_names=True).to_dict()
        except STORE_IO_ERRORS as exc:
            raise FeatureStoreUnavailableError(f"online read failed: {exc}") from exc
        return DecisionFeatures(
            user=_values(columns, self._user, 0),
            session=_values(columns, self._session, 0),
            products={product_id: _values(columns, self._product, i) for i, product_id in enumerate(product_ids)},
        )


def _refs(view: ViewSpec) -> list[str]:
    return [f"{view.name}:{name}" for name in view.feature_names]


def _values(columns: dict[str, list[object]], view: ViewSpec, row: int) -> FeatureValues:
    return {name: columns[f"{view.name}__{name}"][row] for name in view.feature_names}
