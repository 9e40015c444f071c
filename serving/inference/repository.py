"""Writes the Triton model repository: ``<repo>/<model>/config.pbtxt`` and ``<repo>/<model>/<version>/model.py``.

The layout is the one a production Triton loads as it is (Python backend). Version folders appear atomically:
each is assembled in a hidden staging folder beside it (``model.py`` byte-compiled there, so a load never writes
a ``__pycache__`` into a live folder), then renamed into place. ``config.pbtxt`` files are replaced atomically.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import py_compile
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from serving.inference.config import ENCODER_MODEL, LM_MODEL, MODELS, POLICY_MODEL, RepositoryConfig
from serving.inference.errors import ModelRepositoryError
from serving.inference.model_configs import INTENT_MODEL, intent_config_text, model_config_text

__all__ = [
    "POLICY_FILE",
    "TEXT_HEAD_FILE",
    "WARMUP_FILE",
    "intent_head",
    "model_source",
    "model_versions",
    "publish_policy_version",
    "publish_version",
    "retract_version",
    "write_intent_model",
    "write_repository",
]

logger = logging.getLogger(__name__)

#: the TorchScript policy inside a ``kairos_policy`` version folder.
POLICY_FILE = "model.pt"
#: the optional TorchScript intent/sentiment head inside a ``kairos_text_encoder`` version folder.
TEXT_HEAD_FILE = "head.pt"
#: the policy's input shapes, for the warm-up (and shape check) at load.
WARMUP_FILE = "warmup.json"

_SOURCES = {
    POLICY_MODEL: "policy.py",
    ENCODER_MODEL: "text_encoder.py",
    LM_MODEL: "concierge_lm.py",
    INTENT_MODEL: "intent.py",
}
_STAGING_PREFIX = ".staging-"


def model_source(model: str) -> str:
    """The ``model.py`` text of a Kairos model (from :mod:`serving.inference.python_models`)."""
    if model not in _SOURCES:
        raise ModelRepositoryError(f"unknown model {model!r}; Kairos models are {', '.join((*MODELS, INTENT_MODEL))}")
    return (importlib.resources.files("serving.inference.python_models") / _SOURCES[model]).read_text("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    staging = path.with_name(f"{_STAGING_PREFIX}{path.name}.{uuid.uuid4().hex[:8]}")
    staging.write_bytes(data)
    os.replace(staging, path)


def _fill_version(folder: Path, model: str, files: Mapping[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in files.items():
        if name == "model.py" or "/" in name or name.startswith("."):
            raise ModelRepositoryError(f"cannot publish a file named {name!r} into a version folder")
        (folder / name).write_bytes(data)
    source = folder / "model.py"
    source.write_text(model_source(model), encoding="utf-8")
    cache = folder / "__pycache__" / f"model.{sys.implementation.cache_tag}.pyc"
    py_compile.compile(str(source), cfile=str(cache), doraise=True)


def model_versions(repo_dir: Path, model: str) -> list[int]:
    """The published versions of ``model``, ascending (numeric folders only; staging folders are ignored)."""
    folder = repo_dir / model
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def publish_version(repo_dir: Path, model: str, version: int, files: Mapping[str, bytes] | None = None) -> Path:
    """Add version ``version`` of ``model``: its ``model.py`` (byte-compiled) plus ``files``, appearing atomically.

    Args:
        repo_dir: the model repository (its ``<model>/config.pbtxt`` written by :func:`write_repository`).
        model: one of :data:`serving.inference.config.MODELS`.
        version: a positive integer, above every published version of the model.
        files: extra files of the version (e.g. ``{"model.pt": ...}``), by file name.

    Returns:
        The new version folder.

    Raises:
        ModelRepositoryError: unknown model, missing config, version not positive or not above the latest.
    """
    if version < 1:
        raise ModelRepositoryError(f"versions are positive integers, got {version}")
    model_dir = repo_dir / model
    if not (model_dir / "config.pbtxt").is_file():
        raise ModelRepositoryError(f"{model_dir}/config.pbtxt is missing: write the repository first")
    published = model_versions(repo_dir, model)
    if published and version <= published[-1]:
        raise ModelRepositoryError(f"{model} version {version} is not above the latest published ({published[-1]})")
    staging = model_dir / f"{_STAGING_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    target = model_dir / str(version)
    try:
        _fill_version(staging, model, files or {})
        os.rename(staging, target)
    except OSError as exc:
        raise ModelRepositoryError(f"could not publish {model} version {version}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("published model=%s version=%s path=%s", model, version, target)
    return target


def publish_policy_version(
    repo_dir: Path, version: int, torchscript_bytes: bytes, shapes: tuple[int, int, int] | None = None
) -> Path:
    """Publish a TorchScript policy (``torch.jit.save`` output) as ``kairos_policy`` version ``version``.

    Triton serves it once the model is (re)loaded (:meth:`serving.inference.control.ModelControl.load_model`);
    the previous version keeps serving until then, and on if the new one is refused.

    Args:
        repo_dir: the model repository.
        version: above every published version.
        torchscript_bytes: the module; ``forward(state[B,S], candidates[B,K,A], mask[B,K]) -> scores[B,K]``.
        shapes: ``(S, K, A)``. When given, the server runs the module on zeros of these shapes while loading it
            (recommended): the first requests after a swap skip TorchScript's slow first calls, and a module
            that fails on them is refused instead of served.
    """
    files = {POLICY_FILE: torchscript_bytes}
    if shapes is not None:
        state_dim, candidates, candidate_dim = shapes
        warmup = {"state_dim": state_dim, "candidates": candidates, "candidate_dim": candidate_dim}
        files[WARMUP_FILE] = json.dumps(warmup).encode("utf-8")
    return publish_version(repo_dir, POLICY_MODEL, version, files)


def retract_version(repo_dir: Path, model: str, version: int) -> None:
    """Remove a version folder (e.g. one the server refused), so no later load or restart picks it up.

    The folder is first renamed to a non-numeric name (Triton ignores those), then deleted.
    """
    target = repo_dir / model / str(version)
    if not target.is_dir():
        return
    doomed = target.with_name(f"{_STAGING_PREFIX}retracted-{version}-{uuid.uuid4().hex[:8]}")
    os.rename(target, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
    logger.info("retracted model=%s version=%s", model, version)


def _refresh_code_version(repo_dir: Path, model: str) -> None:
    """Keep the latest version of a code-only model (encoder, LM) on the current ``model.py``.

    A missing model gets version 1; an outdated ``model.py`` gets a new version (old ones are retracted), so a
    live version folder never changes under the server.
    """
    versions = model_versions(repo_dir, model)
    if versions and (repo_dir / model / str(versions[-1]) / "model.py").read_text("utf-8") == model_source(model):
        return
    latest = versions[-1] if versions else 0
    files = {}
    head = repo_dir / model / str(latest) / TEXT_HEAD_FILE
    if latest and head.is_file():
        files[TEXT_HEAD_FILE] = head.read_bytes()
    publish_version(repo_dir, model, latest + 1, files)
    for old in versions:
        retract_version(repo_dir, model, old)


def write_repository(repo_dir: Path, config: RepositoryConfig) -> Path:
    """Create or refresh the repository: every model's ``config.pbtxt``, and the encoder's and LM's code.

    Idempotent. ``kairos_policy`` gets its config only; its versions come from :func:`publish_policy_version`.

    Returns:
        ``repo_dir``.
    """
    repo_dir.mkdir(parents=True, exist_ok=True)
    for model in MODELS:
        (repo_dir / model).mkdir(exist_ok=True)
        text = model_config_text(model, config).encode("utf-8")
        path = repo_dir / model / "config.pbtxt"
        if not path.is_file() or path.read_bytes() != text:
            _write_atomic(path, text)
    for model in (ENCODER_MODEL, LM_MODEL):
        _refresh_code_version(repo_dir, model)
    return repo_dir


def intent_head(repo_dir: Path) -> bytes | None:
    """The ``head.pt`` bytes of the latest ``kairos_intent`` version, or ``None`` when none is published."""
    versions = model_versions(repo_dir, INTENT_MODEL)
    head = repo_dir / INTENT_MODEL / str(versions[-1]) / TEXT_HEAD_FILE if versions else None
    return head.read_bytes() if head is not None and head.is_file() else None


def write_intent_model(
    repo_dir: Path, config: RepositoryConfig, head_bytes: bytes, intent_classes: tuple[str, ...]
) -> int:
    """Write ``kairos_intent``: its ``config.pbtxt`` and a version holding ``model.py`` and the head.

    Idempotent: when the latest version already holds this ``model.py`` and these head bytes, nothing changes.
    Otherwise the next version is published (atomically) and the older ones are retracted, so a live folder never
    changes under the server; (re)load the model to serve it.

    Args:
        repo_dir: the model repository.
        config: the repository's configuration (the encoder's batch size, threads and folder apply).
        head_bytes: the TorchScript head (``serving.concierge.head_export.export_head``).
        intent_classes: the head's intent classes, in its output order.

    Returns:
        The version that holds ``head_bytes``.
    """
    model_dir = repo_dir / INTENT_MODEL
    model_dir.mkdir(parents=True, exist_ok=True)
    text = intent_config_text(config, intent_classes).encode("utf-8")
    path = model_dir / "config.pbtxt"
    if not path.is_file() or path.read_bytes() != text:
        _write_atomic(path, text)
    versions = model_versions(repo_dir, INTENT_MODEL)
    if versions:
        latest = model_dir / str(versions[-1])
        if intent_head(repo_dir) == head_bytes and (latest / "model.py").read_text("utf-8") == model_source(
            INTENT_MODEL
        ):
            return versions[-1]
    version = (versions[-1] if versions else 0) + 1
    publish_version(repo_dir, INTENT_MODEL, version, {TEXT_HEAD_FILE: head_bytes})
    for old in versions:
        retract_version(repo_dir, INTENT_MODEL, old)
    return version
