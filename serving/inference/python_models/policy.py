"""Triton model ``kairos_policy``: a TorchScript policy that scores each request's K candidates.

The version folder holds ``model.pt``; its ``forward(state[B,S], candidates[B,K,A], mask[B,K]) -> scores[B,K]``
is run once per group of requests that share (S, K, A) in a dynamic batch, and the scores are split back.
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
