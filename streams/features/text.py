"""Chat text signals (sentiment and intent) behind a Protocol, with a tiny rule-based lexicon as the stand-in.

Honest scope: :class:`LexiconTextSignals` is a keyword lookup, not a model. It reads lower-cased word tokens,
knows a few dozen words, ignores negation ("not great" counts as positive), sarcasm and spelling mistakes, and
only speaks English. It exists so the ``last_sentiment`` / ``last_intent`` features have defined, deterministic
values before the Triton text encoder lands; that encoder will implement :class:`TextSignals` and replace it
without touching the feature state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "INTENTS",
    "LexiconTextSignals",
    "TextSignal",
    "TextSignals",
]

INTENTS: Final = ("order_status", "returns", "discount", "product_question", "other")
"""Intent labels, in the priority order the lexicon applies them (first match wins)."""

_INTENT_KEYWORDS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("order_status", frozenset({"order", "delivery", "deliver", "delivered", "shipping", "shipped", "track",
                                "tracking", "arrive", "arrived", "parcel", "package", "dispatch", "dispatched"})),
    ("returns", frozenset({"return", "returns", "refund", "refunds", "exchange", "broken", "damaged", "faulty"})),
    ("discount", frozenset({"discount", "discounts", "code", "codes", "coupon", "voucher", "sale", "deal",
                            "offer", "promo", "cheaper", "instalments", "installments"})),
    ("product_question", frozenset({"size", "sizes", "colour", "colours", "color", "colors", "stock", "available",
                                    "recommend", "material", "fit", "which", "compatible", "spec", "specs"})),
)  # fmt: skip

_POSITIVE: Final = frozenset({"thanks", "thank", "great", "good", "perfect", "love", "loved", "helpful", "nice",
                              "excellent", "awesome", "happy", "ok", "fine", "amazing", "recommend"})  # fmt: skip
_NEGATIVE: Final = frozenset({"bad", "annoying", "terrible", "awful", "broken", "damaged", "angry", "worst", "hate",
                              "slow", "late", "never", "pushy", "useless", "disappointed", "problem", "wrong",
                              "faulty", "refund"})  # fmt: skip

_WORD: Final = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class TextSignal:
    """What the features keep from one chat message.

    Attributes:
        sentiment: -1 (negative) .. 1 (positive), 0 when neutral or unknown.
        intent: one of :data:`INTENTS`.
    """

    sentiment: float
    intent: str


class TextSignals(Protocol):
    """Turns one chat message into a :class:`TextSignal`; pure and deterministic."""

    def analyse(self, text: str) -> TextSignal:
        """The signal of ``text``."""
        ...


class LexiconTextSignals:
    """Keyword lexicon: intent = first :data:`INTENTS` label whose keywords occur; sentiment = (pos - neg) / 2.

    Sentiment counts positive and negative lexicon words, takes ``(positives - negatives) / 2`` and clips it to
    -1..1, so one word moves it by 0.5 and two saturate it.

    >>> signals = LexiconTextSignals()
    >>> signals.analyse("Where is my order? Delivery is so slow.")
    TextSignal(sentiment=-0.5, intent='order_status')
    >>> signals.analyse("Do you have any discount codes?")
    TextSignal(sentiment=0.0, intent='discount')
    >>> signals.analyse("Thanks, that helps! Great.")
    TextSignal(sentiment=1.0, intent='other')
    """

    __slots__ = ()

    def analyse(self, text: str) -> TextSignal:
        """The lexicon's signal of ``text`` (see the class docstring)."""
        words = set(_WORD.findall(text.lower()))
        intent = "other"
        for label, keywords in _INTENT_KEYWORDS:
            if not words.isdisjoint(keywords):
                intent = label
                break
        score = (len(words & _POSITIVE) - len(words & _NEGATIVE)) / 2
        return TextSignal(sentiment=max(-1.0, min(1.0, score)), intent=intent)
