"""The reply contract: validate language-model text against the grounding, and build the structured reply."""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from serving.concierge.config import ConciergeConfig
from serving.concierge.grounding import contract_violations, find_mentions, id_regex, text_tokens
from serving.concierge.offer import Offer
from serving.concierge.templates import offer_sentence

__all__ = ["ConciergeReply", "Grounding", "LmCheck", "ReplySource", "build_reply", "check_lm_text", "clean_lm_text"]

ReplySource: TypeAlias = Literal["rules", "lm", "template"]

_STOP_MARKERS: Final = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "\nuser:", "\nUser:", "\nShopper:", "\n\n\n")
_ROLE_PREFIX: Final = re.compile(r"^\s*(?:assistant|concierge|bot|ai)\s*:\s*", re.IGNORECASE)
_MARKDOWN: Final = re.compile(r"\*\*|__|`+|^#+\s*", re.MULTILINE)
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+")
_FORBIDDEN: Final = (
    ("url", re.compile(r"https?://|www\.|\.(?:com|net|org|shop|eu)\b", re.IGNORECASE)),
    ("email", re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")),
    ("phone", re.compile(r"\+?\d[\d ()-]{7,}\d")),
    ("code", re.compile(r"\b(?:code|coupon|voucher)\s*:?\s*[A-Z0-9]{4,}\b")),
    (
        "free_claim",
        re.compile(r"\b(?:for free|free (?:gift|shipping|delivery|returns?)|buy one,? get one|bogo)\b", re.I),
    ),
    # The prompt's own scaffolding repeated back (small models parrot it): never shown to a shopper.
    ("prompt_echo", re.compile(r"\b(?:Products|Offer|Shopper)\s*:|\(no matching products\)|\bNo offer\b")),
)
_OFF_VOICE: Final = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bsorry for (?:your|the|any) (?:loss|misunderstanding|confusion|inconvenience)\b",
        r"\bas an? (?:ai|language model|shopping assistant|assistant)\b",
        r"\b(?:not|never) (?:equipped|able|allowed|programmed) to\b",
        r"\bi (?:can't|cannot|can not|am unable to|am not able to) (?:help|assist|provide|recommend)\b",
        r"\b(?:user|shopper|assistant|system)\s*:",
    )
)
_AMOUNT_TOLERANCE: Final = 0.005


@dataclass(frozen=True, slots=True)
class Grounding:
    """What a reply may state, built from the retrieved items, the offer and the shopper's message.

    Attributes:
        catalogue_ids: every live product id (ids outside the catalogue are hallucinated).
        allowed_ids: the retrieved items' ids plus the offered product's id.
        titles: those items' titles (naming one grounds a reply as well as its id does).
        allowed_amounts: prices of those items, the offer's discounted price, and amounts the shopper named.
        grounded_text: the items' texts and the shopper's message (tokens and percentages found here are not
            invented by the model).
        offer: what the reply must state.
    """

    catalogue_ids: Container[str]
    allowed_ids: frozenset[str]
    titles: tuple[str, ...]
    allowed_amounts: tuple[float, ...]
    grounded_text: str
    offer: Offer | None


@dataclass(frozen=True, slots=True)
class LmCheck:
    """The outcome of validating language-model text.

    Attributes:
        body: the accepted body (offer sentence added when the model left it out), or ``None``: use the template.
        violations: what was wrong, in order (see :func:`check_lm_text` for which remove a sentence and which
            reject the text).
    """

    body: str | None
    violations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConciergeReply:
    """One concierge answer, as the storefront and the decision log receive it.

    Attributes:
        text: the body followed by the AI disclosure line; every product id in it was retrieved and is live.
        source: ``rules`` (fixed answer), ``lm`` (model text, validated) or ``template``.
        route: the routing decision's route value.
        product_ids: the product ids the text mentions, in order.
        offer_product_id: the offered product, when the text conveys one.
        discount_pct: the discount the text states (always the action's, within the cap), if any.
        category: the offered category (category-only offers), if any.
        retrieved_ids: the grounding items, best first.
        disclosure: always ``True``: the text carries the AI disclosure.
        decision_id: the decision this reply renders (follow-up messages are keyed by it).
        fallback_reason: why the template answered an open question (``lm_timeout``, ``lm_error``,
            ``lm_invalid``, ``lm_skipped``), else ``None``.
        violations: what validation found in the model's text.
        offer_dropped: parts of the action not conveyed (see :class:`~serving.concierge.offer.Offer`), plus
            ``route_suppressed`` when the route never conveys offers.
    """

    text: str
    source: ReplySource
    route: str
    product_ids: tuple[str, ...]
    offer_product_id: str | None
    discount_pct: float | None
    category: str | None
    retrieved_ids: tuple[str, ...]
    disclosure: bool = True
    decision_id: str | None = None
    fallback_reason: str | None = None
    violations: tuple[str, ...] = ()
    offer_dropped: tuple[str, ...] = field(default=())


def clean_lm_text(raw: str) -> str:
    """Strip chat-template debris, role prefixes and markdown from model output; collapse whitespace.

    >>> clean_lm_text("Assistant: **Sure!** Try p1.<|im_end|>user: more")
    'Sure! Try p1.'
    """
    text = raw
    for marker in _STOP_MARKERS:
        text = text.split(marker, 1)[0]
    text = _MARKDOWN.sub("", _ROLE_PREFIX.sub("", text))
    return " ".join(text.split()).strip(" \"'")


def _sentence_problem(sentence: str, grounding: Grounding, ids: re.Pattern[str], grounded: _Grounded) -> str | None:
    """Why one sentence cannot stand (``drop:`` removes it, ``reject:`` rejects the whole text), else ``None``."""
    if any(p.search(sentence) for p in _OFF_VOICE):
        return "drop:off_voice"
    mentions = find_mentions(sentence, grounding.catalogue_ids, ids)
    if any(pid not in grounding.allowed_ids for pid in mentions.catalogue_ids):
        return "drop:unretrieved_id"
    if any(token not in grounded.tokens for token in mentions.unknown_ids):
        return "drop:unknown_id"
    if not all(any(abs(a - b) < _AMOUNT_TOLERANCE for b in grounding.allowed_amounts) for a in mentions.amounts):
        return "reject:price_mismatch"
    pct = grounding.offer.discount_pct if grounding.offer is not None else None
    if any(p != pct for p in mentions.discount_pcts):
        return "reject:discount_mismatch"
    if any(p != pct and p not in grounded.pcts for p in mentions.other_pcts):
        return "reject:discount_mismatch"
    return None


@dataclass(frozen=True, slots=True)
class _Grounded:
    tokens: frozenset[str]
    pcts: tuple[float, ...]


def _mentions_grounding(body: str, grounding: Grounding, ids: re.Pattern[str]) -> bool:
    if not grounding.allowed_ids:
        return True
    if set(find_mentions(body, grounding.catalogue_ids, ids).catalogue_ids) & grounding.allowed_ids:
        return True
    lowered = body.lower()
    return any(title.lower() in lowered for title in grounding.titles if title)


def check_lm_text(raw: str, grounding: Grounding, config: ConciergeConfig) -> LmCheck:
    """Validate model text strictly and make it state the offer exactly.

    Whole-text rejections (the template answers instead): forbidden content (links, e-mail addresses, phone
    numbers, codes, "free" claims); a money amount not among the grounding's amounts (``price_mismatch``); a
    percentage other than the offer's discount (``discount_mismatch``; percentages quoted from the item texts
    are allowed outside a discount context); nothing left (``empty``); no retrieved item named by id or title
    (``ungrounded``). Sentence removals: one naming an id outside the catalogue (``unknown_id``) or outside the
    retrieved items (``unretrieved_id``), refusal or apology boilerplate (``off_voice``), a repeated sentence
    (``repetition``), an unfinished last sentence (``unfinished_sentence``), sentences past the length cap
    (``too_long``: the body is capped at ``config.max_reply_chars`` with room for the offer sentence). Last, the
    offer sentence is appended unless the text already states the offer exactly.

    Args:
        raw: the model's output.
        grounding: what the reply may state.
        config: the length cap and id shape.

    Returns:
        The accepted body, or ``None`` with the violations that rejected it.
    """
    text = clean_lm_text(raw)
    for name, pattern in _FORBIDDEN:
        if pattern.search(text):
            return LmCheck(None, (f"forbidden_{name}",))
    ids = id_regex(config.product_id_pattern)
    in_grounding = find_mentions(grounding.grounded_text, grounding.catalogue_ids, ids)
    grounded = _Grounded(text_tokens(grounding.grounded_text), in_grounding.other_pcts + in_grounding.discount_pcts)
    violations: list[str] = []
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    if sentences and sentences[-1][-1] not in ".!?":
        sentences.pop()
        violations.append("unfinished_sentence")
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in sentences:
        key = " ".join(sentence.lower().split())
        if key in seen:
            violations.append("repetition")
            continue
        seen.add(key)
        problem = _sentence_problem(sentence, grounding, ids, grounded)
        if problem is None:
            kept.append(sentence)
            continue
        verdict, _, reason = problem.partition(":")
        violations.append(reason)
        if verdict == "reject":
            return LmCheck(None, tuple(violations))
    offer_line = offer_sentence(grounding.offer) or ""
    budget = config.max_reply_chars - len(offer_line) - 1
    body = ""
    for sentence in kept:
        candidate = f"{body} {sentence}".strip()
        if len(candidate) > budget:
            violations.append("too_long")
            break
        body = candidate
    if not body:
        return LmCheck(None, (*violations, "empty"))
    if not _mentions_grounding(body, grounding, ids):
        return LmCheck(None, (*violations, "ungrounded"))
    if offer_line and contract_violations(body, grounding.offer, find_mentions(body, grounding.catalogue_ids, ids)):
        body = f"{body} {offer_line}"
    return LmCheck(body, tuple(violations))


def build_reply(
    body: str,
    *,
    source: ReplySource,
    route: str,
    offer: Offer | None,
    retrieved_ids: Sequence[str],
    catalogue_ids: Container[str],
    config: ConciergeConfig,
    decision_id: str | None = None,
    fallback_reason: str | None = None,
    violations: Sequence[str] = (),
    offer_dropped: Sequence[str] = (),
) -> ConciergeReply:
    """Append the AI disclosure and record what the body states.

    ``offer`` is the offer the body conveys (``None`` when the route does not convey one); the reply's offer
    fields are filled from it, so they equal the action's payload.
    """
    mentions = find_mentions(body, catalogue_ids, id_regex(config.product_id_pattern))
    return ConciergeReply(
        text=f"{body}\n{config.disclosure_text}",
        source=source,
        route=route,
        product_ids=mentions.catalogue_ids,
        offer_product_id=offer.product_id if offer is not None else None,
        discount_pct=offer.discount_pct if offer is not None else None,
        category=offer.category if offer is not None and offer.product is None else None,
        retrieved_ids=tuple(retrieved_ids),
        disclosure=True,
        decision_id=decision_id,
        fallback_reason=fallback_reason,
        violations=tuple(violations),
        offer_dropped=tuple(offer_dropped),
    )
