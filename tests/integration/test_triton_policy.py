"""The policy on the real tritonserver: scores equal the local TorchScript, concurrent calls, hot swap."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import numpy.typing as npt
import pytest
import torch

from serving.inference import POLICY_MODEL, ModelControl, ModelLoadError, PolicyClient, model_versions, swap_policy
from tests.integration.triton_fixtures import (
    POLICY_SHAPE,
    TritonHarness,
    local_scores,
    policy_inputs,
    saved_torchscript,
    script_policy,
    triton_session,
)

__all__ = ["triton_session"]

pytestmark = pytest.mark.integration

TIMEOUT_S = 10.0  # generous: the machine is shared, and these tests are about answers, not latency


async def test_scores_equal_the_local_torchscript(triton_session: TritonHarness) -> None:
    client = PolicyClient(triton_session.server.grpc_url, timeout_s=TIMEOUT_S)
    module = triton_session.policies[triton_session.serving_version]
    try:
        for rows in (1, 5):
            states, candidates, mask = policy_inputs(rows, seed=rows)
            scores = await client.score(states, candidates, mask)
            assert scores.shape == mask.shape
            np.testing.assert_allclose(scores, local_scores(module, states, candidates, mask), rtol=1e-5, atol=1e-5)
    finally:
        await client.aclose()


async def test_concurrent_calls_each_get_their_own_rows_back(triton_session: TritonHarness) -> None:
    client = PolicyClient(triton_session.server.grpc_url, timeout_s=TIMEOUT_S)
    module = triton_session.policies[triton_session.serving_version]
    calls = [policy_inputs(1 + i % 3, seed=100 + i) for i in range(24)]
    try:
        results = await asyncio.gather(*(client.score(*call) for call in calls))
    finally:
        await client.aclose()
    for call, scores in zip(calls, results, strict=True):
        np.testing.assert_allclose(scores, local_scores(module, *call), rtol=1e-5, atol=1e-5)


def test_score_sync_from_a_plain_thread(triton_session: TritonHarness) -> None:
    client = PolicyClient(triton_session.server.grpc_url, timeout_s=TIMEOUT_S)
    states, candidates, mask = policy_inputs(2, seed=9)
    answers: list[npt.NDArray[np.float32]] = []
    stage = threading.Thread(target=lambda: answers.append(client.score_sync(states, candidates, mask)))
    try:
        stage.start()
        stage.join(timeout=60)
        answers.append(client.score_sync(states, candidates, mask))
    finally:
        client.close()
    expected = local_scores(triton_session.policies[triton_session.serving_version], states, candidates, mask)
    assert len(answers) == 2
    for scores in answers:
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_malformed_arrays_are_refused_before_the_call(triton_session: TritonHarness) -> None:
    client = PolicyClient(triton_session.server.grpc_url, timeout_s=TIMEOUT_S)
    states, candidates, mask = policy_inputs(2, seed=1)
    try:
        with pytest.raises(ValueError, match="disagree"):
            client.score_sync(states, candidates, mask[:1])
        with pytest.raises(ValueError, match=r"1\.\.64"):
            client.score_sync(*policy_inputs(65, seed=1))
    finally:
        client.close()


async def test_hot_swap_under_load_fails_no_request(triton_session: TritonHarness) -> None:
    """Requests keep flowing while version N+1 is published and loaded; answers move from N to N+1."""
    url = triton_session.server.grpc_url
    client, control = PolicyClient(url, timeout_s=TIMEOUT_S), ModelControl(url)
    old, new = triton_session.serving_version, triton_session.serving_version + 1
    module, data = script_policy(seed=100 + new)
    states, candidates, mask = policy_inputs(1, seed=3)
    expect_old = local_scores(triton_session.policies[old], states, candidates, mask)
    expect_new = local_scores(module, states, candidates, mask)
    assert not np.allclose(expect_old, expect_new)
    swapped = asyncio.Event()
    answers: list[tuple[bool, npt.NDArray[np.float32]]] = []

    async def keep_scoring() -> None:
        for _ in range(5000):  # bounded; stops once a few answers came after the swap
            after_swap = swapped.is_set()
            answers.append((after_swap, await client.score(states, candidates, mask)))
            if sum(flag for flag, _ in answers) >= 20:
                return
            await asyncio.sleep(0.005)

    load = asyncio.create_task(keep_scoring())
    try:
        while len(answers) < 5:
            await asyncio.sleep(0.01)
        await swap_policy(control, triton_session.repository, new, data, shapes=POLICY_SHAPE)
        triton_session.policies[new] = module
        swapped.set()
        await asyncio.wait_for(load, timeout=120)
        assert await control.ready_versions(POLICY_MODEL) == [new]
    finally:
        load.cancel()
        await client.aclose()
        await control.aclose()
    np.testing.assert_allclose(answers[0][1], expect_old, rtol=1e-5, atol=1e-5)
    for after_swap, scores in answers:
        expected = (expect_new,) if after_swap else (expect_old, expect_new)
        assert any(np.allclose(scores, e, rtol=1e-5, atol=1e-5) for e in expected)


class WrongWidth(torch.nn.Module):
    """Loads fine, but expects candidates of another width: its forward fails on the served shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(POLICY_SHAPE[2] + 3))

    def forward(self, state: torch.Tensor, candidates: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (candidates * self.weight).sum(-1).masked_fill(~mask, -1e9) + state.sum(-1, keepdim=True)


@pytest.mark.parametrize("kind", ["not_torchscript", "fails_on_the_served_shapes"])
async def test_a_broken_version_is_refused_and_the_current_one_keeps_serving(
    triton_session: TritonHarness, kind: str
) -> None:
    url = triton_session.server.grpc_url
    client, control = PolicyClient(url, timeout_s=TIMEOUT_S), ModelControl(url)
    current = triton_session.serving_version
    states, candidates, mask = policy_inputs(3, seed=11)
    broken = b"this is not TorchScript" if kind == "not_torchscript" else saved_torchscript(WrongWidth())
    try:
        with pytest.raises(ModelLoadError, match=POLICY_MODEL):
            await swap_policy(control, triton_session.repository, current + 1, broken, shapes=POLICY_SHAPE)
        assert model_versions(triton_session.repository, POLICY_MODEL)[-1] == current  # retracted from disk
        assert await control.ready_versions(POLICY_MODEL) == [current]
        scores = await client.score(states, candidates, mask)
    finally:
        await client.aclose()
        await control.aclose()
    np.testing.assert_allclose(
        scores, local_scores(triton_session.policies[current], states, candidates, mask), rtol=1e-5, atol=1e-5
    )
