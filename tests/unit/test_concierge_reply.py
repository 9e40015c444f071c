"""Validation of model text: hallucinated ids, prices and discounts, forbidden content, voice, length."""

from __future__ import annotations

import pytest

from schemas.decisions import Action, InterventionType
from serving.concierge import (
    ConciergeConfig,
    Grounding,
    Offer,
    build_reply,
    check_lm_text,
    clean_lm_text,
    find_mentions,
    id_regex,
    offer_from_action,
)
from tests.unit.test_concierge_support import catalogue

CONFIG = ConciergeConfig()
SHOP = catalogue()
IDS = id_regex(CONFIG.product_id_pattern)


def _grounding(offer: Offer | None, ids: tuple[str, ...] = ("p00003", "p00004"), message: str = "") -> Grounding:
    items = [SHOP.require(pid) for pid in ids]
    amounts = [i.price for i in items]
    if offer is not None and offer.discounted_price is not None:
        amounts.append(offer.discounted_price)
    return Grounding(
        catalogue_ids=SHOP,
        allowed_ids=frozenset(ids),
        titles=tuple(i.title for i in items),
        allowed_amounts=tuple(amounts),
        grounded_text=" ".join([message, *(f"{i.title}. {i.description}" for i in items)]),
        offer=offer,
    )


DISCOUNT = offer_from_action(Action(type=InterventionType.DISCOUNT, product_id="p00003", discount_pct=10.0), SHOP, 30)
UPSELL = offer_from_action(Action(type=InterventionType.UPSELL, product_id="p00004"), SHOP, 30)


def test_clean_text_strips_template_debris() -> None:
    assert clean_lm_text("assistant: **Try** the `Crime novel`.<|im_end|>\nuser: hi") == "Try the Crime novel."


def test_a_good_answer_passes_unchanged() -> None:
    text = "The Crime novel [p00003] is a gripping thriller, and it is 10% off for you at €11.25."
    check = check_lm_text(text, _grounding(DISCOUNT), CONFIG)
    assert check.body == text and check.violations == ()


def test_hallucinated_id_sentence_is_removed() -> None:
    text = "Try p99999, our bestseller. The Poetry collection (p00004) is lovely."
    check = check_lm_text(text, _grounding(UPSELL), CONFIG)
    assert check.body is not None and "p99999" not in check.body
    assert check.violations == ("unknown_id",)
    assert check.body.startswith("The Poetry collection (p00004) is lovely.")


def test_catalogue_id_that_was_not_retrieved_is_removed() -> None:
    text = "You could also get the Yoga mat p00002. The Poetry collection p00004 is calm reading."
    check = check_lm_text(text, _grounding(UPSELL), CONFIG)
    assert check.body is not None and "p00002" not in check.body
    assert "unretrieved_id" in check.violations


def test_only_hallucinations_means_template() -> None:
    check = check_lm_text("Buy p424242 now! It is great p777.", _grounding(UPSELL), CONFIG)
    assert check.body is None and check.violations[-1] == "empty"


@pytest.mark.parametrize(
    ("text", "violation"),
    [
        ("The Crime novel p00003 is 20% off today.", "discount_mismatch"),
        ("The Crime novel p00003 is half price today.", "discount_mismatch"),
        ("The Crime novel p00003 costs just €5.00.", "price_mismatch"),
        ("The Crime novel p00003 costs 5 euros.", "price_mismatch"),
        ("The Crime novel p00003 is 90 percent cheaper than elsewhere.", "discount_mismatch"),
    ],
)
def test_wrong_price_or_discount_rejects_the_text(text: str, violation: str) -> None:
    check = check_lm_text(text, _grounding(DISCOUNT), CONFIG)
    assert check.body is None and check.violations[-1] == violation


def test_any_discount_without_a_discount_in_the_action_is_rejected() -> None:
    check = check_lm_text("The Poetry collection p00004 is 10% off.", _grounding(UPSELL), CONFIG)
    assert check.body is None and check.violations == ("discount_mismatch",)


def test_quoted_item_percentages_and_prices_are_allowed() -> None:
    offer = offer_from_action(Action(type=InterventionType.UPSELL, product_id="p00006"), SHOP, 30)
    text = "The Ceramic mug p00006 is 100% stoneware and costs €8.50."
    check = check_lm_text(text, _grounding(offer, ("p00006",)), CONFIG)
    assert check.body is not None and check.body.startswith(text)


@pytest.mark.parametrize(
    ("text", "violation"),
    [
        ("See https://shop.example/p00003 for the Crime novel.", "forbidden_url"),
        ("Mail deals@shop.example about the Crime novel.", "forbidden_email"),
        ("Call +49 30 1234 5678 about the Crime novel.", "forbidden_phone"),
        ("Use code SAVE20 on the Crime novel.", "forbidden_code"),
        ("The Crime novel comes with free shipping.", "forbidden_free_claim"),
    ],
)
def test_forbidden_content_rejects_the_text(text: str, violation: str) -> None:
    assert check_lm_text(text, _grounding(DISCOUNT), CONFIG).violations == (violation,)


def test_boilerplate_repetition_and_unfinished_sentences_are_removed() -> None:
    text = (
        "I'm sorry for your loss, but as a shopping assistant I can't help. The Poetry collection p00004 is calm. "
        "The Poetry collection p00004 is calm. And I would also"
    )
    check = check_lm_text(text, _grounding(UPSELL), CONFIG)
    assert check.body is not None and check.body.startswith("The Poetry collection p00004 is calm.")
    assert check.body.count("is calm") == 1
    assert set(check.violations) == {"off_voice", "repetition", "unfinished_sentence"}


def test_text_that_names_no_retrieved_item_is_ungrounded() -> None:
    check = check_lm_text("We have lovely things for you.", _grounding(UPSELL), CONFIG)
    assert check.body is None and check.violations == ("ungrounded",)


def test_offer_sentence_is_added_when_the_model_leaves_the_offer_out() -> None:
    check = check_lm_text("The Poetry collection p00004 is calm reading.", _grounding(DISCOUNT), CONFIG)
    assert check.body == (
        "The Poetry collection p00004 is calm reading. "
        "Just for you: Crime novel (p00003) is 10% off, €11.25 instead of €12.50."
    )


def test_length_is_capped_at_a_sentence_boundary() -> None:
    config = ConciergeConfig(max_reply_chars=160)
    sentence = "The Poetry collection p00004 has modern poems about the sea."
    check = check_lm_text(
        " ".join([sentence] + [f"Poem {n} is about waves." for n in range(20)]), _grounding(DISCOUNT), config
    )
    assert check.body is not None and len(check.body) <= 160 and "too_long" in check.violations
    assert check.body.endswith("€11.25 instead of €12.50.")


def test_disclosure_is_always_appended_and_flagged() -> None:
    reply = build_reply(
        "Hello.", source="rules", route="greeting", offer=None, retrieved_ids=(), catalogue_ids=SHOP, config=CONFIG
    )
    assert reply.disclosure and reply.text.endswith(CONFIG.disclosure_text)


def test_mentions() -> None:
    found = find_mentions("p00003 at €12.50 or 12,50 EUR; save 10%; 2 USB ports; 100% wool; P00003", SHOP, IDS)
    assert found.catalogue_ids == ("p00003",)
    assert found.unknown_ids == ("P00003",)
    assert found.amounts == (12.5, 12.5)
    assert found.discount_pcts == (10.0,) and found.other_pcts == (100.0,)


def test_model_text_that_echoes_the_prompt_is_rejected() -> None:
    echo = "(no matching products) Offer: No offer: just answer the question helpfully."
    assert check_lm_text(echo, _grounding(None), CONFIG).violations == ("forbidden_prompt_echo",)
    assert check_lm_text("Shopper: hello. The p00003 is lovely.", _grounding(None), CONFIG).body is None
