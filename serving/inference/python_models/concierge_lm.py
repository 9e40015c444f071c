"""Triton model ``kairos_concierge_lm``: SmolLM2-135M-Instruct, greedy decoding (deterministic).

``PROMPT`` (BYTES, UTF-8) is either a JSON array of chat messages (``[{"role": "user", "content": "..."}]``,
optionally with a ``system`` message first, and optionally ending with a partial ``assistant`` message that the
model continues) or plain text, which is sent as one user message. The model's chat template is applied either
way. ``MAX_NEW_TOKENS`` (INT32, optional) caps the reply; it defaults to the ``DEFAULT_NEW_TOKENS`` parameter and
is clipped to ``MAX_NEW_TOKENS_LIMIT``. ``TEXT`` is the reply alone (the continuation, after a partial message).
The converted model folder is the ``LM_DIR`` parameter. Slow (~13 tokens/s on one CPU core): never on a hot path.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch
import triton_python_backend_utils as pb_utils


def _messages(prompt: str) -> list[dict[str, str]]:
    """Chat messages from a JSON array of ``{role, content}``, or one user message holding the plain text."""
    stripped = prompt.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in parsed):
            return [{"role": str(m["role"]), "content": str(m["content"])} for m in parsed]
    return [{"role": "user", "content": prompt}]


class TritonPythonModel:
    """The Python backend's entry point for the concierge language model."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the tokenizer and model from ``LM_DIR``."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        parameters = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        torch.set_num_threads(int(parameters.get("TORCH_NUM_THREADS", "1") or "1"))
        lm_dir = parameters.get("LM_DIR", "")
        if not lm_dir or not os.path.isdir(lm_dir):
            raise RuntimeError(f"LM_DIR {lm_dir!r} is not a folder: convert the model with `make setup`")
        self.default_new_tokens = int(parameters.get("DEFAULT_NEW_TOKENS", "48") or "48")
        self.max_new_tokens = int(parameters.get("MAX_NEW_TOKENS_LIMIT", "256") or "256")
        self.tokenizer = AutoTokenizer.from_pretrained(lm_dir)
        self.model = AutoModelForCausalLM.from_pretrained(lm_dir).eval()

    def execute(self, requests: list[Any]) -> list[Any]:
        """Generate one reply per request, in order."""
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "PROMPT").as_numpy().reshape(-1)[0]
            prompt = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
            limit = pb_utils.get_input_tensor_by_name(request, "MAX_NEW_TOKENS")
            new_tokens = int(limit.as_numpy().reshape(-1)[0]) if limit is not None else self.default_new_tokens
            text = self._generate(prompt, max(1, min(new_tokens, self.max_new_tokens)))
            out = pb_utils.Tensor("TEXT", np.array([text.encode("utf-8")], dtype=np.object_))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def _generate(self, prompt: str, max_new_tokens: int) -> str:
        messages = _messages(prompt)
        opened = messages[-1]["role"] == "assistant"  # the start of the reply: the model continues it
        inputs: Any = self.tokenizer.apply_chat_template(
            messages,
            add_generation_prompt=not opened,
            continue_final_message=opened,
            return_tensors="pt",
            return_dict=True,
        )
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.eos_token_id,
            )
        reply: Any = self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return str(reply).strip()

    def finalize(self) -> None:
        """Drop the model."""
        self.model = None
