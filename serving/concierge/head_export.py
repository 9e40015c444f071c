"""TorchScript export of the intent/sentiment head (``head.pt`` in the Triton text-encoder model directory)."""

# No ``from __future__ import annotations`` here: TorchScript compiles ``forward`` from its real annotations.

import io
import warnings

import torch

from serving.concierge.intent import INTENT_CLASSES, SENTIMENT_CLASSES, IntentHead

__all__ = ["IntentSentimentModule", "export_head", "load_head"]


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
