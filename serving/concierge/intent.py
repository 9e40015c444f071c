"""Intent and sentiment head: the labelled message set, a softmax-regression trainer over embeddings, a report.

The head is two linear maps over a text embedding: intent logits over :data:`INTENT_CLASSES` and sentiment
logits over :data:`SENTIMENT_CLASSES`, whose probabilities give the scalar sentiment ``p(positive) -
p(negative)`` in -1..1 (the ``last_sentiment`` feature's scale). Training is full-batch gradient descent with L2
from zero weights: deterministic. ``serving.concierge.head_export`` trains the served one (split :data:`HOLDOUT`,
:data:`SPLIT_SEED`) and writes it as TorchScript for Triton's ``kairos_intent``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from serving.concierge.embedding import Embedder, check_embeddings
from serving.concierge.errors import IntentDataError

__all__ = [
    "FEATURE_INTENT",
    "HOLDOUT",
    "INTENT_CLASSES",
    "SENTIMENT_CLASSES",
    "SPLIT_SEED",
    "HeadReport",
    "IntentHead",
    "IntentPrediction",
    "LabelledMessage",
    "evaluate_head",
    "load_examples",
    "split_examples",
    "train_head",
]

INTENT_CLASSES: Final = (
    "product_inquiry",
    "purchase_intention",
    "customer_support",
    "return_request",
    "order_status",
    "discount_query",
    "other",
)
"""Intent labels in the head's output order (column ``i`` of ``intent_logits`` is ``INTENT_CLASSES[i]``)."""

SENTIMENT_CLASSES: Final = ("negative", "neutral", "positive")
"""Sentiment labels in the order of the head's internal sentiment logits."""

FEATURE_INTENT: Final[Mapping[str, str]] = {
    "product_inquiry": "product_question",
    "purchase_intention": "other",
    "customer_support": "other",
    "return_request": "returns",
    "order_status": "order_status",
    "discount_query": "discount",
    "other": "other",
}
"""Head intent -> the ``last_intent`` feature's label set (``streams.features.text.INTENTS``)."""

HOLDOUT: Final = 0.2
"""Share of each intent's labelled messages held out from the served head's training (for its quality report)."""

SPLIT_SEED: Final = 0
"""Seed of the served head's train/held-out split (:func:`split_examples`)."""

_DATA_FILE: Final = "intents.tsv"


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """One hand-labelled shopper message."""

    text: str
    intent: str
    sentiment: str


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    """The head's reading of one message.

    Attributes:
        intent: the most probable of :data:`INTENT_CLASSES`.
        confidence: its probability.
        sentiment: ``p(positive) - p(negative)``, in -1..1.
    """

    intent: str
    confidence: float
    sentiment: float


def _softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: npt.NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class IntentHead:
    """A trained head: ``intent_weight [D, C]``, ``intent_bias [C]``, ``sentiment_weight [D, 3]``,
    ``sentiment_bias [3]``."""

    intent_weight: npt.NDArray[np.float64]
    intent_bias: npt.NDArray[np.float64]
    sentiment_weight: npt.NDArray[np.float64]
    sentiment_bias: npt.NDArray[np.float64]

    @property
    def dim(self) -> int:
        """The embedding width the head reads."""
        return int(self.intent_weight.shape[0])

    def forward(self, embeddings: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(intent_logits [B, C], sentiment [B])``: what the TorchScript export computes."""
        x = np.asarray(embeddings, dtype=np.float64)
        sentiment = _softmax(x @ self.sentiment_weight + self.sentiment_bias)
        return x @ self.intent_weight + self.intent_bias, sentiment[:, 2] - sentiment[:, 0]

    def sentiment_proba(self, embeddings: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``[B, 3]`` probabilities over :data:`SENTIMENT_CLASSES`."""
        return _softmax(np.asarray(embeddings, dtype=np.float64) @ self.sentiment_weight + self.sentiment_bias)

    def predict_many(self, embeddings: npt.ArrayLike) -> list[IntentPrediction]:
        """One :class:`IntentPrediction` per embedding row."""
        logits, sentiment = self.forward(embeddings)
        proba = _softmax(logits)
        best = proba.argmax(axis=1)
        return [
            IntentPrediction(INTENT_CLASSES[int(i)], float(proba[row, i]), float(sentiment[row]))
            for row, i in enumerate(best)
        ]

    def predict_one(self, embedding: npt.ArrayLike) -> IntentPrediction:
        """The prediction for one ``[D]`` embedding."""
        return self.predict_many(np.asarray(embedding, dtype=np.float64).reshape(1, -1))[0]


def _parse(lines: Iterable[str], source: str) -> tuple[LabelledMessage, ...]:
    examples: list[LabelledMessage] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#") or line.startswith("text\t"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3 or not parts[0].strip():
            raise IntentDataError(f"{source}:{number}: expected 'text<TAB>intent<TAB>sentiment'")
        text, intent, sentiment = (p.strip() for p in parts)
        if intent not in INTENT_CLASSES:
            raise IntentDataError(f"{source}:{number}: unknown intent {intent!r}")
        if sentiment not in SENTIMENT_CLASSES:
            raise IntentDataError(f"{source}:{number}: unknown sentiment {sentiment!r}")
        examples.append(LabelledMessage(text, intent, sentiment))
    return tuple(examples)


def load_examples(path: Path | None = None) -> tuple[LabelledMessage, ...]:
    """The labelled messages of a TSV file (default: the packaged ``data/intents.tsv``).

    Raises:
        IntentDataError: a malformed line or an unknown label.
    """
    if path is None:
        text = resources.files("serving.concierge").joinpath("data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
        return _parse(text.splitlines(), _DATA_FILE)
    return _parse(path.read_text(encoding="utf-8").splitlines(), str(path))


def split_examples(
    examples: Sequence[LabelledMessage], holdout: float = 0.2, seed: int = 0
) -> tuple[tuple[LabelledMessage, ...], tuple[LabelledMessage, ...]]:
    """A stratified, seeded (train, held-out) split: ``holdout`` of each intent's messages are held out.

    Raises:
        IntentDataError: ``holdout`` outside (0, 1).
    """
    if not 0.0 < holdout < 1.0:
        raise IntentDataError(f"holdout must be within (0, 1), got {holdout}")
    rng = random.Random(seed)
    train: list[LabelledMessage] = []
    test: list[LabelledMessage] = []
    for intent in INTENT_CLASSES:
        group = sorted((e for e in examples if e.intent == intent), key=lambda e: e.text)
        rng.shuffle(group)
        cut = round(len(group) * holdout)
        test.extend(group[:cut])
        train.extend(group[cut:])
    return tuple(train), tuple(test)


def _fit_softmax(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], classes: int, *, epochs: int, lr: float, l2: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    weight = np.zeros((x.shape[1], classes))
    bias = np.zeros(classes)
    target = np.eye(classes)[y]
    n = x.shape[0]
    for _ in range(epochs):
        grad = (_softmax(x @ weight + bias) - target) / n
        weight -= lr * (x.T @ grad + l2 * weight)
        bias -= lr * grad.sum(axis=0)
    return weight, bias


def train_head(
    examples: Sequence[LabelledMessage],
    embed: Embedder,
    *,
    epochs: int = 400,
    lr: float = 4.0,
    l2: float = 1e-3,
) -> IntentHead:
    """Fit the intent and sentiment maps on ``embed``'s vectors of the messages.

    Args:
        examples: the training messages (every intent should occur).
        embed: the text encoder whose output the head will read (normalised rows).
        epochs: full-batch gradient steps.
        lr: step size (inputs are unit vectors, so a large step is stable).
        l2: weight decay.

    Returns:
        The trained head.

    Raises:
        IntentDataError: no examples.
    """
    if not examples:
        raise IntentDataError("no training examples")
    x = check_embeddings(embed([e.text for e in examples]), len(examples)).astype(np.float64)
    intents = np.array([INTENT_CLASSES.index(e.intent) for e in examples], dtype=np.int64)
    sentiments = np.array([SENTIMENT_CLASSES.index(e.sentiment) for e in examples], dtype=np.int64)
    wi, bi = _fit_softmax(x, intents, len(INTENT_CLASSES), epochs=epochs, lr=lr, l2=l2)
    ws, bs = _fit_softmax(x, sentiments, len(SENTIMENT_CLASSES), epochs=epochs, lr=lr, l2=l2)
    return IntentHead(wi, bi, ws, bs)


@dataclass(frozen=True, slots=True)
class HeadReport:
    """Held-out quality of a head.

    Attributes:
        n: held-out messages.
        accuracy: intent accuracy.
        chance: accuracy of always answering the most frequent held-out intent.
        per_intent_recall: recall per intent present in the held-out set.
        sentiment_accuracy: accuracy of the argmax sentiment class.
        confusion: ``confusion[true][predicted]`` counts, in :data:`INTENT_CLASSES` order.
    """

    n: int
    accuracy: float
    chance: float
    per_intent_recall: Mapping[str, float]
    sentiment_accuracy: float
    confusion: tuple[tuple[int, ...], ...]


def evaluate_head(head: IntentHead, embed: Embedder, examples: Sequence[LabelledMessage]) -> HeadReport:
    """Score ``head`` on held-out ``examples``.

    Raises:
        IntentDataError: no examples.
    """
    if not examples:
        raise IntentDataError("no held-out examples")
    x = check_embeddings(embed([e.text for e in examples]), len(examples), head.dim)
    predictions = head.predict_many(x)
    sentiment = head.sentiment_proba(x).argmax(axis=1)
    size = len(INTENT_CLASSES)
    confusion = [[0] * size for _ in range(size)]
    for example, prediction in zip(examples, predictions, strict=True):
        confusion[INTENT_CLASSES.index(example.intent)][INTENT_CLASSES.index(prediction.intent)] += 1
    counts = Counter(e.intent for e in examples)
    correct = sum(confusion[i][i] for i in range(size))
    recall = {c: confusion[i][i] / counts[c] for i, c in enumerate(INTENT_CLASSES) if counts[c]}
    sentiment_hits = sum(SENTIMENT_CLASSES[int(s)] == e.sentiment for s, e in zip(sentiment, examples, strict=True))
    return HeadReport(
        n=len(examples),
        accuracy=correct / len(examples),
        chance=max(counts.values()) / len(examples),
        per_intent_recall=recall,
        sentiment_accuracy=sentiment_hits / len(examples),
        confusion=tuple(tuple(row) for row in confusion),
    )
