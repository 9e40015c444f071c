"""One chat turn end to end with fake I/O: rules, grounded model text, template fallbacks, dialogue state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from schemas.decisions import Action, InterventionType
from schemas.errors import TransientError
from serving.concierge import (
    CatalogueIndex,
    ChatTurn,
    Concierge,
    ConciergeConfig,
    DialogueState,
    GenerationError,
    load_examples,
    train_head,
)
from tests.unit.test_concierge_support import EMBED, SHOP, ScriptedModel, async_embed, catalogue, concierge, item

DISCOUNT = Action(type=InterventionType.DISCOUNT, product_id="p00003", discount_pct=10.0)


async def test_rule_routes_never_call_the_model() -> None:
    model = ScriptedModel()
    result = await concierge(model).answer(ChatTurn("s1", "Where is my order?", DISCOUNT, "d1"))
    assert model.prompts == []
    assert result.reply.source == "rules" and result.reply.route == "order_status"
    assert "p00003" not in result.reply.text and result.reply.offer_dropped == ("route_suppressed",)
    assert result.reply.decision_id == "d1"


async def test_open_question_prompt_and_grounded_model_reply() -> None:
    model = ScriptedModel("The Crime novel [p00003] is a gripping thriller, now 10% off.")
    result = await concierge(model).answer(ChatTurn("s1", "a gripping thriller book under 20 euros?", DISCOUNT, "d1"))
    reply = result.reply
    assert reply.source == "lm" and reply.fallback_reason is None
    assert reply.text.startswith("The Crime novel [p00003] is a gripping thriller, now 10% off.")
    assert reply.offer_product_id == "p00003" and reply.discount_pct == 10.0
    assert set(reply.retrieved_ids) == {"p00003", "p00004"}
    system, user = model.prompts[0]
    assert system["role"] == "system" and "our shop" in system["content"] and "warm" in system["content"]
    assert "[p00003] Crime novel - €12.50 (books, in stock)" in user["content"]
    assert "Offer: Offer 10% off [p00003] Crime novel: now €11.25 instead of €12.50." in user["content"]
    assert user["content"].endswith("Shopper: a gripping thriller book under 20 euros?")
    assert "p00001" not in user["content"]  # filtered out by the category and price constraints


async def test_model_timeout_falls_back_to_the_template() -> None:
    assert asyncio.TimeoutError is TimeoutError  # one class since Python 3.11: the model raises either name
    result = await concierge(ScriptedModel(TimeoutError())).answer(ChatTurn("s1", "thriller books?", DISCOUNT, "d1"))
    assert result.reply.source == "template" and result.reply.fallback_reason == "lm_timeout"
    assert "Crime novel (p00003) is 10% off, €11.25 instead of €12.50." in result.reply.text


async def test_a_model_that_never_answers_is_cut_off_by_the_deadline() -> None:
    class Hang:
        async def __call__(self, messages: Sequence[object], max_new_tokens: int, timeout_s: float) -> str:
            await asyncio.Event().wait()
            return ""

    result = await concierge(Hang()).answer(ChatTurn("s1", "thriller books?", DISCOUNT), timeout_s=0.01)
    assert result.reply.fallback_reason == "lm_timeout"


async def test_model_errors_fall_back_to_the_template() -> None:
    for error in (GenerationError("server down"), TransientError("503"), ConnectionResetError()):
        result = await concierge(ScriptedModel(error)).answer(ChatTurn("s1", "thriller books?", DISCOUNT))
        assert result.reply.source == "template" and result.reply.fallback_reason == "lm_error"


async def test_invalid_model_text_falls_back_with_its_violations() -> None:
    result = await concierge(ScriptedModel("Crime novel p00003 for €2.00!")).answer(
        ChatTurn("s1", "thriller books?", DISCOUNT)
    )
    assert result.reply.fallback_reason == "lm_invalid" and result.reply.violations == ("price_mismatch",)


async def test_embedding_failure_degrades_to_lexical_retrieval() -> None:
    async def broken(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise TransientError("encoder down")

    c = Concierge(catalogue(), embed=broken, generate=ScriptedModel(TimeoutError()))
    c.sync_index_with(EMBED)
    reply = (await c.answer(ChatTurn("s1", "poems about the sea", None))).reply
    assert reply.retrieved_ids[0] == "p00004" and reply.source == "template"


async def test_nothing_to_ground_on_skips_the_model() -> None:
    model = ScriptedModel()
    reply = (await concierge(model).answer(ChatTurn("s1", "books over 500 euros", None))).reply
    assert model.prompts == [] and reply.fallback_reason == "lm_skipped"
    assert reply.text.startswith("I couldn't find a product matching that")


def test_immediate_template_needs_no_io() -> None:
    model = ScriptedModel()
    result = concierge(model).answer_with_template(ChatTurn("s1", "poems about the sea", DISCOUNT, "d7"))
    assert model.prompts == [] and result.reply.source == "template" and result.reply.fallback_reason == "immediate"
    assert "Poetry collection (p00004)" in result.reply.text and "p00003" in result.reply.text


async def test_multi_turn_constraints_demotion_and_context_switch() -> None:
    c = concierge(ScriptedModel(*[TimeoutError()] * 4))
    first = await c.answer(ChatTurn("s1", "books under 20 euros", None))
    assert first.state.constraints.category == "books" and first.state.constraints.max_price == 20.0
    second = await c.answer(ChatTurn("s1", "anything under 10?", None, state=first.state))
    assert second.state.constraints.category == "books" and second.state.constraints.max_price == 10.0
    assert second.reply.retrieved_ids == ("p00004",)
    third = await c.answer(ChatTurn("s1", "show me earbuds or headphones", None, state=second.state))
    assert third.state.constraints.category == "electronics" and third.state.constraints.max_price is None
    assert third.state.turns == 3 and third.state.last_route == "open_question"
    assert set(third.state.shown_ids) >= {"p00003", "p00004", "p00007", "p00008"}
    again = await c.answer(ChatTurn("s1", "headphones please", None, state=third.state))
    assert again.reply.retrieved_ids[-1] in third.reply.product_ids  # already shown items rank last


async def test_unresolved_question_is_remembered_then_cleared() -> None:
    c = concierge(ScriptedModel(TimeoutError()))
    first = await c.answer(ChatTurn("s1", "???", None))
    assert first.reply.route == "clarify" and first.state.unresolved == "???"
    second = await c.answer(ChatTurn("s1", "poems about the sea", None, state=first.state))
    assert second.state.unresolved is None


async def test_intent_head_fills_the_state_and_routes_paraphrases() -> None:
    head = train_head(load_examples(), EMBED)
    c = Concierge(catalogue(), embed=async_embed, generate=ScriptedModel(), head=head)
    c.sync_index_with(EMBED)
    result = await c.answer(ChatTurn("s1", "Has my package been sent yet?", None))
    assert result.state.last_intent is not None


async def test_async_index_sync_embeds_in_batches_and_tracks_the_catalogue() -> None:
    calls: list[int] = []

    async def counting(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        calls.append(len(texts))
        return EMBED(texts)

    shop = CatalogueIndex()
    c = Concierge(shop, embed=counting, generate=ScriptedModel(), config=ConciergeConfig(min_similarity=0.0))
    for i in range(130):
        c.apply_catalogue(item(f"x{i}", f"Thing {i}", "misc", 1.0 + i))
    plan = await c.sync_index()
    assert len(plan.to_embed) == 130 and calls == [64, 64, 2] and len(c.index) == 130
    c.apply_catalogue(item("x1", "Thing 1", "misc", 3.0, minutes=1))
    assert (await c.sync_index()).to_refresh[0].price == 3.0 and calls == [64, 64, 2]


def test_new_state_is_created_for_a_new_conversation() -> None:
    result = concierge().answer_with_template(ChatTurn("s9", "Hi", None))
    assert result.state == DialogueState(
        session_id="s9", turns=1, last_route="greeting", constraints=result.state.constraints
    )
    assert len(SHOP) == 8
