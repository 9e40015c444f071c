"""TorchScript export: the loaded module scores exactly like the policy, and loads without Kairos's code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from serving.policy import (
    DQNPolicy,
    Feedback,
    NeuralBandit,
    Policy,
    PolicyExportError,
    PPOPolicy,
    RulePolicy,
    StateEncoder,
    export_torchscript,
    load_torchscript,
)

ENC = StateEncoder()
S, A = ENC.state_dim, ENC.action_dim
NEURAL: dict[str, Callable[[], Policy]] = {
    "neural_bandit": lambda: NeuralBandit(S, A, seed=11),
    "dqn": lambda: DQNPolicy(S, A, seed=11, batch_size=4),
    "ppo": lambda: PPOPolicy(S, A, seed=11, batch_size=4),
}


def inputs(seed: int, n: int = 4, k: int = 25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = rng.random((n, k)) < 0.6
    mask[:, 0] = True
    return rng.normal(size=(n, S)).astype(np.float32), rng.normal(size=(n, k, A)).astype(np.float32), mask


@pytest.mark.parametrize("name", sorted(NEURAL))
def test_loaded_module_scores_like_the_policy_before_and_after_learning(name: str) -> None:
    policy = NEURAL[name]()
    state, candidates, mask = inputs(1)
    for round_ in range(2):
        module = load_torchscript(export_torchscript(policy))
        with torch.no_grad():
            out = module(torch.from_numpy(state), torch.from_numpy(candidates), torch.from_numpy(mask)).numpy()
        expected = policy.scores(state, candidates, mask)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
        assert (out[~mask] == -1e9).all()
        if round_ == 0:
            for i in range(8):
                policy.learn_one(Feedback(state[0], candidates[0], mask[0], 0, float(i % 2), 0.5))


def test_batch_and_candidate_widths_are_dynamic() -> None:
    policy = NEURAL["neural_bandit"]()
    module = load_torchscript(export_torchscript(policy))
    for n, k in ((1, 25), (7, 3), (2, 40)):
        state, candidates, mask = inputs(n + k, n=n, k=k)
        with torch.no_grad():
            out = module(torch.from_numpy(state), torch.from_numpy(candidates), torch.from_numpy(mask)).numpy()
        np.testing.assert_allclose(out, policy.scores(state, candidates, mask), rtol=1e-6, atol=1e-6)


def test_export_leaves_the_policy_trainable() -> None:
    policy = NeuralBandit(S, A, seed=2)
    export_torchscript(policy)
    assert policy.scorer.training and all(p.requires_grad for p in policy.scorer.parameters())


def test_rules_have_nothing_to_export() -> None:
    with pytest.raises(PolicyExportError):
        export_torchscript(RulePolicy(ENC))


LOADER = """
import importlib.abc, json, sys, warnings
import numpy as np, torch

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"serving", "schemas", "streams", "featurestore", "agents", "kairos"}:
            raise ImportError(f"Kairos module {name} imported")
        return None

sys.meta_path.insert(0, Refuse())
warnings.simplefilter("ignore", DeprecationWarning)
module = torch.jit.load(sys.argv[1])
data = np.load(sys.argv[2])
with torch.no_grad():
    out = module(torch.from_numpy(data["state"]), torch.from_numpy(data["candidates"]), torch.from_numpy(data["mask"]))
print(json.dumps(out.tolist()))
"""


def test_the_module_loads_in_a_process_that_cannot_import_kairos(tmp_path: Path) -> None:
    policy = NEURAL["ppo"]()
    state, candidates, mask = inputs(3)
    (tmp_path / "policy.pt").write_bytes(export_torchscript(policy))
    np.savez(tmp_path / "inputs.npz", state=state, candidates=candidates, mask=mask)
    result = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "policy.pt"), str(tmp_path / "inputs.npz")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = np.array(json.loads(result.stdout))
    np.testing.assert_allclose(out, policy.scores(state, candidates, mask), rtol=1e-6, atol=1e-6)
