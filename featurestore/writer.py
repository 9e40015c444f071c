"""Write feature rows to the Feast online store (one SDK call per batch) and to the parquet offline history."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from feast import FeatureStore

from featurestore.erasure import erase_history, erase_online
from featurestore.errors import STORE_IO_ERRORS, FeatureRowError, FeatureStoreUnavailableError, UnknownFeatureViewError
from featurestore.history import append_history
from featurestore.views import EVENT_TIMESTAMP, ViewSpec, view_spec

__all__ = ["OnlineFeatureWriter"]

logger = logging.getLogger(__name__)

Row = Mapping[str, object]


class OnlineFeatureWriter:
    """Writes batches of feature rows for the Kairos views through an injected :class:`feast.FeatureStore`.

    A row is a plain mapping of the view's join key, every contract feature of the view and ``event_timestamp``
    (a tz-aware datetime); extra keys are ignored.

    Args:
        store: an applied store, e.g. from :func:`featurestore.open_store`.
    """

    def __init__(self, store: FeatureStore) -> None:
        self._store = store
        self._offline_dir = Path(store.repo_path) / "offline"

    def write(self, view: str, rows: Sequence[Row]) -> None:
        """Write ``rows`` to the online store with one ``write_to_online_store`` call (latest event time wins).

        Args:
            view: the feature view name (``kairos_user``, ``kairos_session`` or ``kairos_product``).
            rows: the rows; an empty batch writes nothing.

        Raises:
            UnknownFeatureViewError: when ``view`` is not a Kairos view.
            FeatureRowError: when a row lacks a column of the view.
            FeatureStoreUnavailableError: when the online store does not answer.
        """
        if not rows:
            return
        frame = _frame(_spec(view), rows)
        try:
            self._store.write_to_online_store(view, frame)
        except STORE_IO_ERRORS as exc:
            raise FeatureStoreUnavailableError(f"online write to {view} failed: {exc}") from exc
        logger.debug("feast online write view=%s rows=%d", view, len(frame))

    def write_offline(self, view: str, rows: Sequence[Row]) -> None:
        """Append ``rows`` to the view's parquet history (training and backfill) as one new part file.

        Not ``write_to_offline_store``: Feast 0.67's file offline store rewrites the whole file on every append and
        cannot map a ``list<string>`` column (``string_list`` features) back to a Feast type. A part per batch costs
        the batch only; still, batch it (a flush every N rows or seconds), since each call adds one file.

        Args:
            view: the feature view name.
            rows: the rows; an empty batch writes nothing.

        Raises:
            UnknownFeatureViewError: when ``view`` is not a Kairos view.
            FeatureRowError: when a row lacks a column of the view.
        """
        if not rows:
            return
        spec = _spec(view)
        append_history(self._offline_dir, spec, _frame(spec, rows))
        logger.debug("parquet offline write view=%s rows=%d", view, len(rows))

    def erase(self, view: str, keys: Sequence[str]) -> None:
        """Delete the rows of ``keys`` from the online store and the parquet history of ``view`` (an erasure).

        Raises:
            UnknownFeatureViewError: when ``view`` is not a Kairos view.
            FeatureStoreUnavailableError: when the online store does not answer.
        """
        if not keys:
            return
        spec = _spec(view)
        online = erase_online(self._store, spec, keys)
        history = erase_history(self._offline_dir, spec, keys)
        logger.info("feature erasure view=%s keys=%d online=%d history_rows=%d", view, len(keys), online, history)


def _spec(view: str) -> ViewSpec:
    try:
        return view_spec(view)
    except KeyError:
        raise UnknownFeatureViewError(view) from None


def _frame(spec: ViewSpec, rows: Sequence[Row]) -> pd.DataFrame:
    columns = [spec.join_key, *spec.feature_names, EVENT_TIMESTAMP]
    required = frozenset(columns)
    for index, row in enumerate(rows):
        if not required <= row.keys():
            missing = sorted(required - row.keys())
            raise FeatureRowError(f"row {index} of {spec.name} lacks {missing}")
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame[EVENT_TIMESTAMP] = pd.to_datetime(frame[EVENT_TIMESTAMP], utc=True)
    return frame
