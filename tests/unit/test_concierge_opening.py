"""The reply opening: the model continues a reply that starts with the offered (else best) grounding item."""

from __future__ import annotations

from schemas.decisions import Action, InterventionType
from serving.concierge import ChatTurn, ConciergeConfig
from tests.unit.test_concierge_support import ScriptedModel, concierge

DISCOUNT = Action(type=InterventionType.DISCOUNT, product_id="p00003", discount_pct=10.0)
OPENING = ConciergeConfig(min_similarity=-1.0, reply_opening=True)


async def test_the_model_continues_the_opening_and_its_first_sentence_is_kept() -> None:
    model = ScriptedModel(" for a rainy weekend of reading. I'm not sure what else. I'm not sure what else. And")
    result = await concierge(model, OPENING).answer(ChatTurn("s1", "a gripping thriller book?", DISCOUNT, "d1"))
    sent = model.prompts[0]
    assert sent[-1] == {"role": "assistant", "content": "I'd suggest the Crime novel [p00003]"}
    reply = result.reply
    assert reply.source == "lm" and reply.fallback_reason is None
    body = reply.text.split("\n")[0]
    assert body.startswith("I'd suggest the Crime novel [p00003] for a rainy weekend of reading.")
    assert "not sure" not in body, "only the first completed sentence is kept"
    assert "10%" in body, "the offer is stated exactly (the offer sentence is added)"


async def test_without_an_offer_the_best_grounding_item_opens() -> None:
    model = ScriptedModel(" for muddy trails.")
    result = await concierge(model, OPENING).answer(ChatTurn("s1", "shoes for trail running in the mud?", None, "d2"))
    opening = model.prompts[0][-1]
    assert opening["role"] == "assistant" and opening["content"].startswith("I'd suggest the ")
    assert result.reply.source == "lm" and result.reply.text.startswith(opening["content"] + " for muddy trails.")


async def test_an_opening_the_model_cannot_finish_falls_back_to_the_template() -> None:
    model = ScriptedModel(" which is invented at €1.00")
    result = await concierge(model, OPENING).answer(ChatTurn("s1", "a gripping thriller book?", DISCOUNT, "d3"))
    assert result.reply.source == "template" and result.reply.fallback_reason == "lm_invalid"


async def test_the_plain_prompt_has_no_opening() -> None:
    model = ScriptedModel("The Crime novel [p00003] is a gripping thriller, now 10% off.")
    await concierge(model).answer(ChatTurn("s1", "a gripping thriller book?", DISCOUNT, "d4"))
    assert model.prompts[0][-1]["role"] == "user"
