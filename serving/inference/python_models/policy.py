"""Triton model ``kairos_policy``: a TorchScript policy that scores each request's K candidates.

The version folder holds ``model.pt``; its ``forward(state[B,S], candidates[B,K,A], mask[B,K]) -> scores[B,K]``
is run once per group of requests that share (S, K, A) in a dynamic batch, and the scores are split back.

When the folder also holds ``warmup.json`` (``{"state_dim": S, "candidates": K, "candidate_dim": A}``), the
module is run on zeros of those shapes while loading: TorchScript's first calls are slow (~80 ms, profiling), so
the first real requests after a hot swap do not pay for them, and a module whose forward fails or returns the
wrong shape makes the load fail, so the server refuses the version and the previous one keeps serving.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """The Python backend's entry point for the policy."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load ``<version>/model.pt``; set torch's thread count from the ``TORCH_NUM_THREADS`` parameter."""
        config: dict[str, Any] = json.loads(args["model_config"])
        parameters = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        torch.set_num_threads(int(parameters.get("TORCH_NUM_THREADS", "1") or "1"))
        path = Path(args["model_repository"]) / args["model_version"] / "model.pt"
        self.module = torch.jit.load(str(path), map_location="cpu")
        self.module.eval()
        warmup = path.with_name("warmup.json")
        if warmup.is_file():
            shape = json.loads(warmup.read_text())
            self._warm_up(int(shape["state_dim"]), int(shape["candidates"]), int(shape["candidate_dim"]))

    def _warm_up(self, state_dim: int, candidates: int, candidate_dim: int) -> None:
        for rows in (1, 1, 1, 8):
            state = np.zeros((rows, state_dim), dtype=np.float32)
            cands = np.zeros((rows, candidates, candidate_dim), dtype=np.float32)
            mask = np.ones((rows, candidates), dtype=np.bool_)
            scores = self._forward([(state, cands, mask)])
            if scores.shape != (rows, candidates):
                raise ValueError(f"forward returned shape {scores.shape}, expected {(rows, candidates)}")

    def execute(self, requests: list[Any]) -> list[Any]:
        """Score every request; requests whose shapes differ run as separate forward calls."""
        arrays = [
            tuple(pb_utils.get_input_tensor_by_name(r, name).as_numpy() for name in ("STATE", "CANDIDATES", "MASK"))
            for r in requests
        ]
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, (state, candidates, _) in enumerate(arrays):
            groups.setdefault((state.shape[1], *candidates.shape[1:]), []).append(index)
        responses: list[Any] = [None] * len(requests)
        for indices in groups.values():
            try:
                scores = self._forward([arrays[i] for i in indices])
            except (RuntimeError, ValueError) as exc:  # a TorchScript error fails these requests, not the model
                error = pb_utils.TritonError(f"policy forward failed: {exc}")
                for i in indices:
                    responses[i] = pb_utils.InferenceResponse(output_tensors=[], error=error)
                continue
            offset = 0
            for i in indices:
                rows = arrays[i][0].shape[0]
                out = pb_utils.Tensor("SCORES", scores[offset : offset + rows])
                responses[i] = pb_utils.InferenceResponse(output_tensors=[out])
                offset += rows
        return responses

    def _forward(self, batch: list[tuple[np.ndarray[Any, Any], ...]]) -> np.ndarray[Any, Any]:
        state, candidates, mask = (np.concatenate([item[k] for item in batch]) for k in range(3))
        with torch.inference_mode():
            scores = self.module(torch.from_numpy(state), torch.from_numpy(candidates), torch.from_numpy(mask))
        return np.ascontiguousarray(scores.numpy(), dtype=np.float32)

    def finalize(self) -> None:
        """Drop the module."""
        self.module = None
