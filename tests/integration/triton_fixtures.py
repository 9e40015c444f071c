"""The Triton session fixture: the real tritonserver (bundled in nvidia-pytriton, run from ``.venv-triton``) on a
repository written by Kairos, with a tiny TorchScript policy exported here. One server per test session.

Import the fixture into a test module (``from tests.integration.triton_fixtures import triton_session``). A missing
server environment fails the tests with the message to run ``make setup``; it never skips.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch

from serving.inference import (
    MODELS,
    RepositoryConfig,
    TritonConfig,
    TritonProcess,
    publish_policy_version,
    start_triton,
    write_repository,
)

__all__ = [
    "POLICY_SHAPE",
    "TritonHarness",
    "local_scores",
    "policy_inputs",
    "saved_torchscript",
    "script_policy",
    "start_policy_server",
    "triton_session",
]

ROOT = Path(__file__).resolve().parents[2]
SERVER_ENV = ROOT / ".venv-triton"
LM_DIR = SERVER_ENV / "models" / "smollm2-135m-instruct"
#: (S, K, A): state size, candidates per decision (padded), candidate features.
POLICY_SHAPE = (8, 6, 4)


class TinyPolicy(torch.nn.Module):
    """scores[b, k] = candidates[b, k] · (W state[b]) + bias, masked candidates at -1e9."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        s, _, a = POLICY_SHAPE
        self.weight = torch.nn.Parameter(torch.randn(a, s, generator=generator))
        self.bias = torch.nn.Parameter(torch.randn(1, generator=generator))

    def forward(self, state: torch.Tensor, candidates: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        query = state @ self.weight.t()
        scores = (candidates * query.unsqueeze(1)).sum(-1) + self.bias
        return scores.masked_fill(~mask, -1e9)


def script_policy(seed: int) -> tuple[torch.jit.ScriptModule, bytes]:
    """A scripted :class:`TinyPolicy` and its ``torch.jit.save`` bytes."""
    with warnings.catch_warnings():  # torch 2.13 marks TorchScript deprecated; Triton's backends still load it
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.script(TinyPolicy(seed).eval())
        buffer = io.BytesIO()
        torch.jit.save(module, buffer)
    return module, buffer.getvalue()


def saved_torchscript(module: torch.nn.Module) -> bytes:
    """``torch.jit.save`` bytes of the scripted ``module`` (deprecation warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def policy_inputs(
    rows: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Random states [rows,S], candidates [rows,K,A] and a mask [rows,K] with padding at the end."""
    rng = np.random.default_rng(seed)
    s, k, a = POLICY_SHAPE
    states = rng.standard_normal((rows, s)).astype(np.float32)
    candidates = rng.standard_normal((rows, k, a)).astype(np.float32)
    mask = np.ones((rows, k), dtype=np.bool_)
    mask[:, k - 2 :] = False
    return states, candidates, mask


def local_scores(
    module: torch.jit.ScriptModule,
    states: npt.NDArray[np.float32],
    candidates: npt.NDArray[np.float32],
    mask: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """What the TorchScript module answers in this process."""
    with torch.inference_mode():
        out = module(torch.from_numpy(states), torch.from_numpy(candidates), torch.from_numpy(mask))
    return np.asarray(out.numpy(), dtype=np.float32)


@dataclass
class TritonHarness:
    """The running server, its repository and the policy modules published so far (by version)."""

    server: TritonProcess
    repository: Path
    policies: dict[int, torch.jit.ScriptModule] = field(default_factory=dict)

    @property
    def serving_version(self) -> int:
        """The newest policy version the server accepted."""
        return max(self.policies)


def start_policy_server(repository: Path, log: Path, models: tuple[str, ...], seed: int = 1) -> TritonHarness:
    """Write a repository with policy version 1 from ``seed`` and start tritonserver with ``models`` loaded."""
    write_repository(repository, RepositoryConfig(lm_dir=LM_DIR, lm_default_new_tokens=8))
    module, data = script_policy(seed)
    publish_policy_version(repository, 1, data, shapes=POLICY_SHAPE)
    server = start_triton(TritonConfig(server_env=SERVER_ENV, repository=repository, models=models), log_path=log)
    return TritonHarness(server, repository, {1: module})


_SESSION: list[TritonHarness] = []


@pytest.fixture(scope="session")
def triton_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonHarness]:
    """One tritonserver for the session with every Kairos model loaded.

    Test modules import this fixture, so pytest sees one definition per module; the module-level cache keeps
    it to one server per session, stopped when the session ends.
    """
    if not _SESSION:
        root = tmp_path_factory.mktemp("triton")
        _SESSION.append(start_policy_server(root / "models", root / "tritonserver.log", MODELS))
    harness = _SESSION[0]
    yield harness
    if harness.server.running():
        harness.server.stop()
