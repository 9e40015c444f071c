"""The replay's policy: a served version, the rule policy, or a file, scored in the replay's own process.

A replay never talks to Triton: production's Triton is shared, and hot-swapping it to a replay's version would
change what production serves. The replay keeps a local copy of the chosen weights and scores with it
(:class:`LocalScorer`, the policy's numpy scorer: the same network the TorchScript in Triton runs); its decisions
record ``policy_source = "triton"`` as the served version would (the policy name and version say which weights).
``rules`` decides with the fallback rule policy (``policy_source = "fallback"``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from agents.decide import ServedPolicy
from kairos.serving import policy_parts
from kairos.settings import Settings, SettingsError
from schemas.codec import StructDecoder
from schemas.contexts import PolicyRelease
from schemas.errors import PoisonMessageError
from serving.learning import CheckpointError, restore_weights
from streams.reader import read_range

__all__ = ["LocalScorer", "ReplayPolicy", "resolve_policy"]

logger = logging.getLogger(__name__)


class LocalScorer:
    """:class:`~agents.decide.PolicyScorer` on a local policy copy, in process (no deadline, never unavailable)."""

    def __init__(self, policy: ServedPolicy, model_version: int, max_batch_size: int = 64) -> None:
        self._policy = policy
        self.model_version = str(model_version)
        self.max_batch_size = max_batch_size

    def score_sync(
        self, states: npt.ArrayLike, candidates: npt.ArrayLike, mask: npt.ArrayLike, timeout_s: float | None = None
    ) -> npt.NDArray[np.float32]:
        """The policy's scores ``[N, K]`` (float32, as Triton returns them)."""
        scores = self._policy.scores(
            np.asarray(states, dtype=np.float32),
            np.asarray(candidates, dtype=np.float32),
            np.asarray(mask, dtype=np.bool_),
        )
        return np.asarray(scores, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    """What the replay decides with: ``policy`` ``None`` means the rule policy."""

    label: str
    policy: ServedPolicy | None
    model_version: int

    def local(self) -> tuple[ServedPolicy, LocalScorer] | None:
        """The decision stage's ``local`` argument (``None`` for the rule policy)."""
        if self.policy is None:
            return None
        return self.policy, LocalScorer(self.policy, self.model_version)


def resolve_policy(spec: str, production: Settings) -> ReplayPolicy:
    """The policy ``--policy`` names: ``rules``, a served ``model_version`` (1 is the seeded initial policy; later
    ones come from the learner's checkpoints under production's ``worker.data_dir/policies`` or, failing that, from
    the releases topic, read only), or a path: a checkpoint folder (``weights.pt`` + ``meta.json``) or a weights
    file (a ``torch.save`` of the scorer's ``state_dict``).

    Raises:
        SettingsError: nothing by that name, or weights that do not fit the configured policy.
    """
    if spec == "rules":
        return ReplayPolicy("rules", None, 0)
    policy = policy_parts(production).policy
    if spec.isdigit():
        version = int(spec)
        if version == 1:
            return ReplayPolicy(f"version 1 ({policy.version}, seeded)", policy, 1)
        weights, updates = _served_weights(production, version)
        label = f"version {version}"
    else:
        weights, updates = _file_weights(Path(spec))
        label = spec
        version = 0
    try:
        restore_weights(policy, weights, updates)
    except CheckpointError as exc:
        raise SettingsError(f"--policy {spec}: {exc}") from exc
    return ReplayPolicy(f"{label} ({policy.version})", policy, version)


def _file_weights(path: Path) -> tuple[bytes, int]:
    if path.is_dir():
        meta_path, path = path / "meta.json", path / "weights.pt"
        try:
            updates = int(orjson.loads(meta_path.read_bytes()).get("updates", 0)) if meta_path.exists() else 0
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise SettingsError(f"--policy: unreadable {meta_path}: {exc}") from exc
    else:
        updates = 0
    if not path.is_file():
        raise SettingsError(f"--policy: no policy weights at {path} (use rules, a version number or a file)")
    return path.read_bytes(), updates


def _served_weights(production: Settings, version: int) -> tuple[bytes, int]:
    folder = Path(production.worker.data_dir) / "policies" / str(version)
    if (folder / "weights.pt").is_file():
        return _file_weights(folder)
    decode = StructDecoder(PolicyRelease).decode
    topics = production.topics
    for partition in range(topics.partitions):
        for msg in read_range(production.kafka, topics.policy_releases, partition, 0):
            try:
                release = decode(msg.value() or b"")
            except PoisonMessageError:
                continue
            if release.model_version == version:
                return release.weights, release.updates
    raise SettingsError(f"--policy {version}: no such version in {folder} or on {topics.policy_releases}")
