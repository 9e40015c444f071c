"""Policy versions on disk and on the wire: the scorer's ``state_dict`` as bytes, plus a small JSON of metadata.

``<directory>/<model_version>/weights.pt`` and ``meta.json``, each written to a temporary name and renamed, the
version folder itself renamed into place last, so a crash never leaves a half-written version that
:func:`latest_checkpoint` would pick up.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import torch

from serving.learning.errors import CheckpointError
from serving.policy.errors import PolicyExportError
from serving.policy.networks import PairScorer

__all__ = ["Checkpoint", "latest_checkpoint", "policy_weights", "restore_weights", "save_checkpoint"]

_WEIGHTS = "weights.pt"
_META = "meta.json"


def _scorer(policy: object) -> PairScorer:
    scorer = getattr(policy, "scorer", None)
    if not isinstance(scorer, PairScorer):
        raise PolicyExportError(f"{type(policy).__name__} has no neural scorer to checkpoint")
    return scorer


def policy_weights(policy: object) -> bytes:
    """``torch.save`` of the policy's scorer ``state_dict``.

    Raises:
        PolicyExportError: the policy has no neural scorer.
    """
    buffer = io.BytesIO()
    torch.save(_scorer(policy).state_dict(), buffer)
    return buffer.getvalue()


def restore_weights(policy: object, weights: bytes, updates: int) -> None:
    """Load :func:`policy_weights` bytes into ``policy`` and set its update count (``updates`` or ``steps``).

    Raises:
        CheckpointError: the weights do not fit the policy's scorer.
        PolicyExportError: the policy has no neural scorer.
    """
    scorer = _scorer(policy)
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        scorer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"weights do not fit {type(policy).__name__}: {exc}") from exc
    for counter in ("updates", "steps"):
        if hasattr(policy, counter):
            setattr(policy, counter, updates)
            break


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One saved version: its number, folder, weights and metadata."""

    model_version: int
    folder: Path
    weights: bytes
    meta: dict[str, Any]


def save_checkpoint(directory: Path, model_version: int, weights: bytes, meta: dict[str, Any]) -> Path:
    """Write version ``model_version`` under ``directory`` atomically (an existing one is left as it is).

    Returns:
        The version's folder.

    Raises:
        CheckpointError: the folder could not be written.
    """
    target = directory / str(model_version)
    if target.exists():
        return target
    staging = directory / f".staging-{model_version}-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        (staging / _WEIGHTS).write_bytes(weights)
        (staging / _META).write_bytes(
            orjson.dumps({**meta, "model_version": model_version}, option=orjson.OPT_SORT_KEYS)
        )
        for name in (_WEIGHTS, _META):
            with (staging / name).open("rb") as fh:
                os.fsync(fh.fileno())
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise CheckpointError(f"could not checkpoint version {model_version} in {directory}: {exc}") from exc
    return target


def latest_checkpoint(directory: Path) -> Checkpoint | None:
    """The highest-numbered complete version under ``directory``, or ``None``.

    Raises:
        CheckpointError: the newest version's files cannot be read.
    """
    if not directory.is_dir():
        return None
    versions = sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())
    if not versions:
        return None
    folder = directory / str(versions[-1])
    try:
        weights = (folder / _WEIGHTS).read_bytes()
        meta = orjson.loads((folder / _META).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CheckpointError(f"unreadable checkpoint {folder}: {exc}") from exc
    return Checkpoint(versions[-1], folder, weights, meta)
