"""Templated shopper text: chat questions, replies to the concierge, search queries and survey comments."""

from __future__ import annotations

import hashlib
import random
from typing import Final

__all__ = ["chat_question", "concierge_reply", "email_hash", "search_query", "survey_comment"]

_QUESTIONS: Final[tuple[tuple[str, bool], ...]] = (
    ("Is this {category} item available in other sizes or colours?", False),
    ("How long does delivery take?", False),
    ("Do you have any discount codes?", True),
    ("Is there a sale on {category} soon?", True),
    ("What is your return policy for {category}?", False),
    ("Can I pay in instalments?", False),
    ("Which {category} would you recommend under {budget} EUR?", False),
    ("Is it in stock? I need it by Friday.", False),
)
_REPLIES: Final = (
    "Thanks, that helps!",
    "Great, can you show me a few options?",
    "OK, and is shipping free?",
    "Perfect, I'll take a look.",
)
_QUERY_WORDS: Final = ("cheap", "best", "new", "gift", "sale", "premium", "small", "large", "eco", "")
_COMMENTS: Final = {
    1: ("Too many pop-ups.", "Annoying offers, I almost left.", ""),
    2: ("The suggestions were not relevant.", "", "Pushy."),
    3: ("OK.", "", "Fine I guess."),
    4: ("Helpful suggestion.", "", "Good experience."),
    5: ("Great deal, thank you!", "Loved the recommendation.", ""),
}


def chat_question(rng: random.Random, category: str, budget: float) -> tuple[str, bool]:
    """A shopper's question to the chat and whether it is about discounts.

    >>> chat_question(random.Random(3), "books", 42.0)
    ('Is there a sale on books soon?', True)
    """
    template, about_discount = rng.choice(_QUESTIONS)
    return template.format(category=category, budget=int(round(budget, -1)) or 10), about_discount


def concierge_reply(rng: random.Random) -> str:
    """A shopper's answer to a concierge message they engaged with."""
    return rng.choice(_REPLIES)


def search_query(rng: random.Random, category: str) -> str:
    """A search string about ``category``, e.g. ``"gift books"``."""
    return f"{rng.choice(_QUERY_WORDS)} {category}".strip()


def survey_comment(rng: random.Random, score: int) -> str:
    """A free-text comment matching a 1-5 survey score (often empty)."""
    return rng.choice(_COMMENTS[score])


def email_hash(anonymous_id: str) -> str:
    """The SHA-256 hex of a synthetic address; the plain address never exists."""
    return hashlib.sha256(f"{anonymous_id}@shoppers.example".encode()).hexdigest()
