"""Chat text signals (sentiment and intent) behind a Protocol, with a tiny rule-based lexicon as the stand-in.

Two readers: :class:`ClassifiedTextSignals` answers from signals the feature stage obtained for the batch's chat
texts from Triton's ``kairos_intent`` (one request per batch, under a deadline), and falls back to the lexicon for
any text it was not given. :class:`LexiconTextSignals` is that fallback: a keyword lookup, not a model. It reads
lower-cased word tokens, knows a few dozen words, ignores negation ("not great" counts as positive), sarcasm and
spelling mistakes, and only speaks English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "INTENTS",
    "ClassifiedTextSignals",
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


class ClassifiedTextSignals:
    """Signals given per batch (the encoder's), the lexicon for any other text; counts which source answered.

    The feature stage calls :meth:`prime` with the classified texts of a batch before applying its events, and
    :meth:`clear` after. Pickles as an empty reader (primed signals and counts are per batch, not state).

    >>> signals = ClassifiedTextSignals()
    >>> signals.prime({"where is it?": TextSignal(sentiment=-0.2, intent="order_status")})
    >>> signals.analyse("where is it?"), signals.analyse("Thanks, great!")
    (TextSignal(sentiment=-0.2, intent='order_status'), TextSignal(sentiment=1.0, intent='other'))
    >>> signals.counts
    {'encoder': 1, 'lexicon': 1}
    """

    __slots__ = ("_fallback", "_primed", "counts")

    def __init__(self, fallback: TextSignals | None = None) -> None:
        self._fallback: TextSignals = fallback if fallback is not None else LexiconTextSignals()
        self._primed: dict[str, TextSignal] = {}
        self.counts: dict[str, int] = {"encoder": 0, "lexicon": 0}
        """Texts answered by each source since the last :meth:`clear`."""

    def __reduce__(self) -> tuple[type[ClassifiedTextSignals], tuple[TextSignals]]:
        return ClassifiedTextSignals, (self._fallback,)

    def prime(self, signals: dict[str, TextSignal]) -> None:
        """Answer these texts with these signals (until :meth:`clear`)."""
        self._primed.update(signals)

    def clear(self) -> None:
        """Forget the primed signals and reset the counts."""
        self._primed.clear()
        self.counts = {"encoder": 0, "lexicon": 0}

    def analyse(self, text: str) -> TextSignal:
        """The primed signal of ``text``, else the fallback's."""
        signal = self._primed.get(text)
        if signal is not None:
            self.counts["encoder"] += 1
            return signal
        self.counts["lexicon"] += 1
        return self._fallback.analyse(text)
