"""The concierge's frozen configuration: brand voice, caps, budgets and the fixed answers of the rule routes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from serving.concierge.errors import ConciergeConfigError

__all__ = ["DEFAULT_PRODUCT_ID_PATTERN", "ConciergeConfig", "FixedAnswers"]

DEFAULT_PRODUCT_ID_PATTERN = r"[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*"
"""What an id looks like in free text: a letter first, at least one digit (``p00042``, ``SKU-12``)."""


@dataclass(frozen=True, slots=True)
class FixedAnswers:
    """The fixed, reviewed texts of the rule routes; no language model ever writes these.

    They promise nothing the concierge cannot check (no order data, no legal or medical judgement).
    """

    order_status: str = (
        "You can follow your order under Account > Orders; the tracking link is also in your confirmation e-mail. "
        "If it looks stuck, reply 'human' and a colleague will check it for you."
    )
    returns: str = (
        "You can return items within 30 days of delivery for a full refund: start the return under Account > Orders "
        "and you will get a prepaid label. The refund reaches your account within 5 working days of our receiving it."
    )
    shipping: str = (
        "Standard delivery takes 2-4 working days and express 1-2; the cost and the delivery date for your address "
        "are shown at checkout before you pay."
    )
    payment: str = (
        "You can pay by card, PayPal or bank transfer; the payment options available for your order, including any "
        "instalment plans, are shown at checkout."
    )
    discount_none: str = "I'm not able to offer a discount on this right now."
    legal: str = (
        "I can't give legal advice. For questions about your rights as a customer, please see our terms and "
        "conditions or ask a qualified adviser; reply 'human' if you'd like a colleague to help."
    )
    medical: str = (
        "I can't give medical advice. Please check the product label and ask a doctor or pharmacist whether a "
        "product is right for you."
    )
    data_request: str = (
        "To delete or receive a copy of your personal data, use Account > Privacy or write to our privacy team; "
        "I can't access or change personal data in this chat."
    )
    handoff: str = "I'll pass you to a colleague from our customer service team; they will reply here shortly."
    unsupported: str = "I can only help with our products, your orders, delivery and returns."
    greeting: str = "Happy to help! What are you looking for today?"
    clarify: str = (
        "Could you tell me a little more? For example the kind of product, your budget, or your order question."
    )
    no_match: str = "I couldn't find a product matching that; could you describe it differently?"


@dataclass(frozen=True, slots=True)
class ConciergeConfig:
    """Everything the concierge logic is parameterised by; built once in the entry point and passed down.

    Attributes:
        brand_name: the shop's name, used in the system prompt.
        brand_voice: the tone the system prompt asks for.
        max_discount_pct: the concierge never states a discount above this, whatever the action says.
        top_k: items retrieved as grounding for one turn.
        min_similarity: cosine below which a retrieved item is not grounding (unrelated items would lead the
            model astray); tune it on the real encoder; -1 disables the floor.
        max_reply_chars: cap on a reply's body (the disclosure line comes on top).
        max_new_tokens: the language model's generation budget per reply.
        generate_timeout_s: per-request deadline for generation; past it, the template answers.
        embed_timeout_s: deadline for embedding the shopper's message; past it, retrieval falls back to lexical.
        queue_max_size: pending language-model requests; when full the newest is rejected.
        max_shown_ids: how many already-shown product ids the dialogue state remembers.
        clarify_below_confidence: with an intent head, an unmatched message whose top intent probability is
            below this gets a clarification question instead of a guess.
        intent_route_confidence: with an intent head, an unmatched message whose top intent (order status,
            return, discount) has at least this probability takes that intent's rule route.
        handoff_below_sentiment: with an intent head, sentiment at or below this hands over to a human
            (``None``: never on sentiment alone).
        disclosure_text: appended to every reply: the shopper is told it was written by an AI assistant.
        product_id_pattern: regex of what looks like a product id in free text (hallucination check).
        answers: the fixed answers of the rule routes.
        reply_opening: start the model's reply with the first grounding item (the offered product first), as
            "I'd suggest the <title> [<id>]", and keep only the first sentence it completes (the small model
            rambles, refuses or repeats itself after that; measured in docs/concierge.md).
    """

    brand_name: str = "our shop"
    brand_voice: str = "warm, concise and honest; no pressure and no exaggeration"
    max_discount_pct: float = 30.0
    top_k: int = 3
    min_similarity: float = 0.1
    max_reply_chars: int = 480
    max_new_tokens: int = 64
    generate_timeout_s: float = 8.0
    embed_timeout_s: float = 1.0
    queue_max_size: int = 32
    max_shown_ids: int = 20
    clarify_below_confidence: float = 0.25
    intent_route_confidence: float = 0.6
    handoff_below_sentiment: float | None = -0.6
    disclosure_text: str = "(This reply was written by an AI assistant.)"
    product_id_pattern: str = DEFAULT_PRODUCT_ID_PATTERN
    answers: FixedAnswers = field(default_factory=FixedAnswers)
    reply_opening: bool = False

    def __post_init__(self) -> None:
        """Reject values the concierge cannot honour.

        Raises:
            ConciergeConfigError: a cap outside 0-100, a non-positive budget or size, an empty disclosure, or
                an id pattern that does not compile.
        """
        if not 0.0 <= self.max_discount_pct <= 100.0:
            raise ConciergeConfigError(f"max_discount_pct must be within 0-100, got {self.max_discount_pct}")
        for name in ("top_k", "max_reply_chars", "max_new_tokens", "queue_max_size", "max_shown_ids"):
            if getattr(self, name) < 1:
                raise ConciergeConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_reply_chars < 80:
            raise ConciergeConfigError(f"max_reply_chars must be >= 80, got {self.max_reply_chars}")
        for name in ("generate_timeout_s", "embed_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConciergeConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not -1.0 <= self.min_similarity <= 1.0:
            raise ConciergeConfigError(f"min_similarity must be within -1..1, got {self.min_similarity}")
        for name in ("clarify_below_confidence", "intent_route_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConciergeConfigError(f"{name} must be within 0-1, got {getattr(self, name)}")
        if not self.disclosure_text.strip():
            raise ConciergeConfigError("disclosure_text must not be empty: the AI disclosure is mandatory")
        try:
            re.compile(self.product_id_pattern)
        except re.error as exc:
            raise ConciergeConfigError(f"product_id_pattern does not compile: {exc}") from exc
