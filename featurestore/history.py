"""The parquet offline history behind each feature view's file source: one directory of part files per view."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from featurestore.views import VIEWS, ViewSpec, offline_schema

__all__ = ["append_history", "ensure_offline_files", "history_dir"]

_SEED = "part-00000-empty.parquet"


def history_dir(offline_dir: Path, view: ViewSpec) -> Path:
    """Return the directory holding ``view``'s parquet parts (the path of its :class:`feast.FileSource`)."""
    return offline_dir / view.name


def ensure_offline_files(offline_dir: Path) -> list[Path]:
    """Create each view's history directory with an empty, typed seed part when missing; never touch other parts.

    Feast and dask read a file source's schema from its files, so at least one part must exist before apply.

    Args:
        offline_dir: directory of the histories (created when missing).

    Returns:
        Every view's history directory.
    """
    dirs = []
    for view in VIEWS:
        directory = history_dir(offline_dir, view)
        directory.mkdir(parents=True, exist_ok=True)
        seed = directory / _SEED
        if not seed.exists():
            pq.write_table(offline_schema(view).empty_table(), seed)
        dirs.append(directory)
    return dirs


def append_history(offline_dir: Path, view: ViewSpec, frame: pd.DataFrame) -> Path:
    """Append ``frame`` to ``view``'s history as one new part file: the cost is the batch's, not the history's.

    Args:
        offline_dir: directory of the histories.
        view: the view.
        frame: rows with exactly the columns of :func:`featurestore.views.offline_schema`.

    Returns:
        The part file written.
    """
    table = pa.Table.from_pandas(frame, schema=offline_schema(view), preserve_index=False)
    path = history_dir(offline_dir, view) / f"part-{uuid.uuid4().hex}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # readers never see a half-written part
    return path
