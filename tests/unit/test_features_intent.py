"""Chat features from the served intent head: score mapping, the one bounded call per batch, the lexicon fallback."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from agents.compute_features import read_chat_texts, signals_from_scores
from schemas.events import ChatMessage, Event, ProductView
from serving.concierge import INTENT_CLASSES
from serving.inference import InferenceUnavailableError, UnavailableReason
from streams.features import ClassifiedTextSignals, FeatureState, LexiconTextSignals, TextSignal

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)
ORDER_TEXT = "my parcel still has not arrived, this is annoying"


def _chat(i: int, text: str, session: str = "s1") -> ChatMessage:
    return ChatMessage(
        event_id=f"c{i}", event_time=AT + timedelta(seconds=i), schema_version=1, session_id=session, user_id="u1",
        text=text,
    )  # fmt: skip


def _view(i: int) -> ProductView:
    return ProductView(
        event_id=f"v{i}", event_time=AT + timedelta(seconds=i), schema_version=1, session_id="s1", user_id="u1",
        product_id="p1", category="books", price=9.5,
    )  # fmt: skip


class Classifier:
    """The TextClassifier seam: answers every text with one signal, or raises the given error; records calls."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[list[str]] = []

    def classify(self, texts: Sequence[str]) -> dict[str, TextSignal]:
        self.calls.append(list(texts))
        if self.error is not None:
            raise self.error
        return {t: TextSignal(sentiment=0.25, intent="discount") for t in texts}


def _probs(best: str) -> list[float]:
    return [0.9 if c == best else 0.1 / (len(INTENT_CLASSES) - 1) for c in INTENT_CLASSES]


@pytest.mark.parametrize(
    ("head_intent", "feature_intent"),
    [("order_status", "order_status"), ("return_request", "returns"), ("purchase_intention", "other")],
)
def test_scores_map_to_the_feature_labels(head_intent: str, feature_intent: str) -> None:
    signals = signals_from_scores(["a", "b"], [_probs(head_intent), _probs("other")], [1.7, -0.12345])
    assert signals["a"] == TextSignal(sentiment=1.0, intent=feature_intent)  # clipped to -1..1
    assert signals["b"] == TextSignal(sentiment=-0.123, intent="other")  # rounded


def test_scores_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="2 texts"):
        signals_from_scores(["a", "b"], [_probs("other")], [0.0])


def test_batches_without_chat_make_no_call() -> None:
    classifier = Classifier()
    assert read_chat_texts([_view(1), _view(2)], classifier) == ({}, "no_chat")
    assert classifier.calls == []


def test_one_call_per_batch_with_each_distinct_text_once() -> None:
    classifier = Classifier()
    events: list[Event] = [_chat(1, "hi"), _view(2), _chat(3, ORDER_TEXT), _chat(4, "hi", session="s2")]
    signals, reason = read_chat_texts(events, classifier)
    assert classifier.calls == [["hi", ORDER_TEXT]]
    assert reason == "missing" and set(signals) == {"hi", ORDER_TEXT}


@pytest.mark.parametrize("reason", list(UnavailableReason))
def test_a_failed_call_leaves_every_text_to_the_lexicon(reason: UnavailableReason) -> None:
    classifier = Classifier(InferenceUnavailableError(reason, "no answer"))
    assert read_chat_texts([_chat(1, ORDER_TEXT)], classifier) == ({}, str(reason))
    assert read_chat_texts([_chat(1, ORDER_TEXT)], None) == ({}, "no_classifier")


def test_features_take_the_encoder_signal_and_fall_back_to_the_lexicon() -> None:
    signals = ClassifiedTextSignals()
    state = FeatureState(text_signals=signals)
    primed, _ = read_chat_texts([_chat(1, "any discount?")], Classifier())
    signals.prime(primed)
    state.apply(_chat(1, "any discount?"))
    row = state.session_row("s1", AT + timedelta(seconds=1))
    assert row is not None and (row["last_sentiment"], row["last_intent"]) == (0.25, "discount")
    assert signals.counts == {"encoder": 1, "lexicon": 0}

    signals.clear()
    failed, _ = read_chat_texts(
        [_chat(2, ORDER_TEXT)], Classifier(InferenceUnavailableError(UnavailableReason.TIMEOUT, "late"))
    )
    signals.prime(failed)
    state.apply(_chat(2, ORDER_TEXT))
    row = state.session_row("s1", AT + timedelta(seconds=2))
    lexicon = LexiconTextSignals().analyse(ORDER_TEXT)
    assert row is not None and (row["last_sentiment"], row["last_intent"]) == (lexicon.sentiment, lexicon.intent)
    assert lexicon.intent == "order_status" and lexicon.sentiment < 0
    assert signals.counts == {"encoder": 0, "lexicon": 1}


def test_a_checkpointed_reader_keeps_nothing_of_the_batch() -> None:
    signals = ClassifiedTextSignals()
    signals.prime({"hi": TextSignal(sentiment=0.5, intent="other")})
    restored = pickle.loads(pickle.dumps(FeatureState(text_signals=signals)))
    fresh = ClassifiedTextSignals()
    restored.use_text_signals(fresh)
    restored.apply(_chat(1, "hi"))
    assert fresh.counts == {"encoder": 0, "lexicon": 1}
    assert pickle.loads(pickle.dumps(signals)).analyse("hi") == LexiconTextSignals().analyse("hi")
