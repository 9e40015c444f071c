"""Streaming features: pure, event-time state that turns validated events into the ``schemas.features`` rows."""

from streams.features.product import ProductState
from streams.features.rows import FeatureRow, FeatureValue
from streams.features.session import SessionState
from streams.features.state import ChangedKeys, FeatureConfig, FeatureState
from streams.features.text import INTENTS, ClassifiedTextSignals, LexiconTextSignals, TextSignal, TextSignals
from streams.features.user import UserState
from streams.features.windows import SlidingWindow, to_micros

__all__ = [
    "INTENTS",
    "ChangedKeys",
    "ClassifiedTextSignals",
    "FeatureConfig",
    "FeatureRow",
    "FeatureState",
    "FeatureValue",
    "LexiconTextSignals",
    "ProductState",
    "SessionState",
    "SlidingWindow",
    "TextSignal",
    "TextSignals",
    "UserState",
    "to_micros",
]
