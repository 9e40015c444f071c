"""The labelled intent set, the softmax-regression head, its report, and the TorchScript export."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from serving.concierge import (
    FEATURE_INTENT,
    INTENT_CLASSES,
    SENTIMENT_CLASSES,
    IntentDataError,
    evaluate_head,
    load_examples,
    split_examples,
    train_head,
)
from serving.concierge.head_export import export_head, load_head
from streams.features.text import INTENTS as FEATURE_INTENTS
from tests.unit.test_concierge_support import EMBED

EXAMPLES = load_examples()


def test_the_data_set_is_large_diverse_and_labelled() -> None:
    assert len(EXAMPLES) >= 150
    assert len({e.text.lower() for e in EXAMPLES}) == len(EXAMPLES)
    intents = Counter(e.intent for e in EXAMPLES)
    assert set(intents) == set(INTENT_CLASSES) and min(intents.values()) >= 20
    sentiments = Counter(e.sentiment for e in EXAMPLES)
    assert set(sentiments) == set(SENTIMENT_CLASSES) and min(sentiments.values()) >= 20
    assert set(FEATURE_INTENT) == set(INTENT_CLASSES) and set(FEATURE_INTENT.values()) <= set(FEATURE_INTENTS)


def test_malformed_data_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("hello\tgreeting\tneutral\n")
    with pytest.raises(IntentDataError, match="unknown intent"):
        load_examples(path)
    path.write_text("hello\tother\n")
    with pytest.raises(IntentDataError, match="expected"):
        load_examples(path)


def test_split_is_stratified_seeded_and_disjoint() -> None:
    train, test = split_examples(EXAMPLES, holdout=0.2, seed=3)
    assert split_examples(EXAMPLES, holdout=0.2, seed=3) == (train, test)
    assert not {e.text for e in train} & {e.text for e in test}
    assert len(train) + len(test) == len(EXAMPLES)
    assert set(Counter(e.intent for e in test)) == set(INTENT_CLASSES)


def test_training_beats_chance_on_held_out_messages_with_the_fake_encoder() -> None:
    train, test = split_examples(EXAMPLES, seed=0)
    head = train_head(train, EMBED)
    report = evaluate_head(head, EMBED, test)
    assert report.n == len(test)
    assert report.accuracy > 2 * report.chance
    assert report.accuracy > 1.5 / len(INTENT_CLASSES)
    assert sum(map(sum, report.confusion)) == len(test)
    assert evaluate_head(head, EMBED, train).accuracy > 0.9
    assert evaluate_head(head, EMBED, train).sentiment_accuracy > 0.9


def test_training_is_deterministic_and_predictions_are_well_formed() -> None:
    a, b = train_head(EXAMPLES, EMBED, epochs=50), train_head(EXAMPLES, EMBED, epochs=50)
    assert np.array_equal(a.intent_weight, b.intent_weight)
    prediction = a.predict_one(EMBED(["Where is my parcel?"])[0])
    assert prediction.intent in INTENT_CLASSES and 0.0 < prediction.confidence <= 1.0
    assert -1.0 <= prediction.sentiment <= 1.0


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_head_loads_with_torch_jit_and_matches() -> None:
    head = train_head(EXAMPLES, EMBED, epochs=100)
    data = export_head(head)
    module = torch.jit.load(io.BytesIO(data))
    assert list(module.intent_classes) == list(INTENT_CLASSES)
    assert list(module.sentiment_classes) == list(SENTIMENT_CLASSES)
    batch = EMBED(["Where is my parcel?", "I want a refund", "Any discount codes?"])
    intent_logits, sentiment = module(torch.from_numpy(batch))
    expected_logits, expected_sentiment = head.forward(batch)
    assert tuple(intent_logits.shape) == (3, len(INTENT_CLASSES)) and tuple(sentiment.shape) == (3,)
    assert np.allclose(intent_logits.detach().numpy(), expected_logits, atol=1e-5)
    assert np.allclose(sentiment.detach().numpy(), expected_sentiment, atol=1e-5)
    again = load_head(data)(torch.from_numpy(batch))[0]
    assert torch.equal(again, intent_logits)
