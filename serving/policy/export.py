"""TorchScript export of a neural policy's scorer, the artefact Triton serves."""

from __future__ import annotations

import copy
import io
import warnings

import torch

from serving.policy.errors import PolicyExportError
from serving.policy.networks import PairScorer

__all__ = ["export_torchscript", "load_torchscript"]


def _scorer(policy: object) -> PairScorer:
    scorer = getattr(policy, "scorer", None)
    if not isinstance(scorer, PairScorer):
        raise PolicyExportError(f"{type(policy).__name__} has no neural scorer to export")
    return scorer


def export_torchscript(policy: object) -> bytes:
    """Script the policy's scorer and serialise it.

    The module's ``forward(state: Tensor[B, S] float32, candidates: Tensor[B, K, A] float32, mask: Tensor[B, K]
    bool) -> Tensor[B, K]`` returns the same scores as ``policy.scores`` (expected rewards for the bandit, Q-values
    for DQN, logits for PPO), masked entries ``-1e9``. TorchScript carries its own code, so
    ``torch.jit.load`` needs torch only, not Kairos. The copy is exported in eval mode; the policy is unchanged.

    (``torch.jit`` is deprecated in favour of ``torch.export`` since torch 2.9 but still ships; Triton's PyTorch
    backend loads TorchScript. The deprecation warnings are silenced here.)

    Args:
        policy: a :class:`~serving.policy.NeuralBandit`, :class:`~serving.policy.DQNPolicy` or
            :class:`~serving.policy.PPOPolicy` (anything with a ``scorer`` :class:`PairScorer`).

    Returns:
        The serialised TorchScript module.

    Raises:
        PolicyExportError: the policy has no neural scorer (e.g. the rule policy), or scripting failed.
    """
    module = copy.deepcopy(_scorer(policy)).eval().requires_grad_(False)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(module)
            torch.jit.save(scripted, buffer)
    except (RuntimeError, ValueError, torch.jit.Error) as exc:  # frontend errors, unsupported annotations
        raise PolicyExportError(f"scripting failed: {exc}") from exc
    return buffer.getvalue()


def load_torchscript(data: bytes) -> torch.jit.ScriptModule:
    """Load exported bytes as Triton does (``torch.jit.load``), on the CPU, deprecation warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: torch.jit.ScriptModule = torch.jit.load(io.BytesIO(data), map_location="cpu")  # type: ignore[no-untyped-call]
    return module.eval()
