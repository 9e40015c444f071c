"""Hot swap of the policy: publish a new TorchScript version into the repository, then have Triton load it.

The old version serves until the new one is ready; a version the server refuses is retracted from the
repository (so no restart picks it up) and :class:`ModelLoadError` is raised while the old version serves on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from serving.inference.config import POLICY_MODEL
from serving.inference.control import ModelControl
from serving.inference.errors import ModelLoadError
from serving.inference.repository import model_versions, publish_policy_version, retract_version

__all__ = ["swap_policy"]

logger = logging.getLogger(__name__)


async def swap_policy(
    control: ModelControl,
    repo_dir: Path,
    version: int,
    torchscript_bytes: bytes,
    *,
    shapes: tuple[int, int, int] | None = None,
    keep: int = 3,
    timeout_s: float = 120.0,
) -> Path:
    """Publish ``torchscript_bytes`` as ``kairos_policy`` version ``version`` and make the server serve it.

    Args:
        control: the running server's model control.
        repo_dir: the repository the server loads from.
        version: above every published version.
        torchscript_bytes: a ``torch.jit.save`` of a module with ``forward(state, candidates, mask)``.
        shapes: ``(S, K, A)`` to warm the new version up (and check it) while it loads; see
            :func:`~serving.inference.repository.publish_policy_version`.
        keep: how many newest version folders to keep on disk after a successful swap (for inspection).
        timeout_s: how long to wait for the load.

    Returns:
        The new version's folder.

    Raises:
        ModelRepositoryError: the version could not be written.
        ModelLoadError: the server refused the new version (retracted; the previous version keeps serving).
    """
    folder = publish_policy_version(repo_dir, version, torchscript_bytes, shapes)
    try:
        await control.load_model(POLICY_MODEL, timeout_s=timeout_s)
    except ModelLoadError:
        retract_version(repo_dir, POLICY_MODEL, version)
        logger.warning("policy version=%s refused by the server; retracted", version)
        raise
    for old in model_versions(repo_dir, POLICY_MODEL)[:-keep]:
        retract_version(repo_dir, POLICY_MODEL, old)
    logger.info("policy version=%s serving", version)
    return folder
