"""The message contract: whatever path answers, the text states the action's offer exactly, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pytest

from schemas.decisions import Action, InterventionType
from serving.concierge import (
    ChatTurn,
    ConciergeReply,
    Route,
    contract_violations,
    find_mentions,
    id_regex,
    offer_from_action,
    route_message,
)
from tests.unit.test_concierge_support import ScriptedModel, concierge

ACTIONS = [
    Action(type=InterventionType.DISCOUNT, product_id="p00003", discount_pct=10.0),
    Action(type=InterventionType.DISCOUNT, product_id="p00007", discount_pct=12.5),
    Action(type=InterventionType.DISCOUNT, category="sports", discount_pct=15.0),
    Action(type=InterventionType.DISCOUNT, discount_pct=5.0),
    Action(type=InterventionType.UPSELL, product_id="p00007"),
    Action(type=InterventionType.CROSS_SELL, product_id="p00002"),
    Action(type=InterventionType.CROSS_SELL, category="books"),
    Action(type=InterventionType.CROSS_SELL, product_id="p00001", discount_pct=20.0),
    Action(type=InterventionType.CONCIERGE_MESSAGE, product_id="p00008"),
    Action(type=InterventionType.CHECKOUT_NUDGE),
    Action(type=InterventionType.NONE),
]
MESSAGES = [
    "any gripping thriller books under 20 euros?",
    "I need headphones for the train",
    "Hi!",
    "Do you have a discount code?",
    "How long does delivery take?",
    "Where is my order?",
    "Is this cream safe during pregnancy?",
]


class EchoModel:
    """A compliant fake model: recommends the first listed product by title and id and states the offer line."""

    async def __call__(self, messages: Sequence[Mapping[str, str]], max_new_tokens: int, timeout_s: float) -> str:
        user = messages[-1]["content"]
        first = re.search(r"^1\. \[(?P<id>[^\]]+)\] (?P<title>.+?) - ", user, re.MULTILINE)
        text = f"The {first.group('title')} [{first.group('id')}] is a good pick." if first else "Happy to help."
        offer = re.search(r"^Offer: Offer (?P<pct>[\d.]+%) off", user, re.MULTILINE)
        return f"{text} You get {offer.group('pct')} off." if offer else text


class LyingModel:
    """A hostile fake model: invents an id, a discount and a price."""

    async def __call__(self, messages: Sequence[Mapping[str, str]], max_new_tokens: int, timeout_s: float) -> str:
        return "Buy p31337 today for only €1.00, 60% off!"


def _check(reply: ConciergeReply, action: Action, message: str) -> None:
    shop = concierge().catalogue
    body, _, disclosure = reply.text.rpartition("\n")
    assert reply.disclosure and disclosure == "(This reply was written by an AI assistant.)"
    mentions = find_mentions(body, shop, id_regex(r"[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*"))
    assert mentions.unknown_ids == ()
    assert set(mentions.catalogue_ids) <= set(reply.retrieved_ids) | {reply.offer_product_id}
    conveys = route_message(message, concierge().config).spec.conveys_offer
    offer = offer_from_action(action, shop, 30.0) if conveys else None
    assert contract_violations(body, offer, mentions) == ()
    if offer is not None and offer.states_something:
        assert reply.offer_product_id == action.product_id
        assert reply.discount_pct == action.discount_pct
        assert all(p == action.discount_pct for p in mentions.discount_pcts)
        if action.product_id is not None:
            assert action.product_id in mentions.catalogue_ids
    else:
        assert reply.offer_product_id is None and reply.discount_pct is None
        assert mentions.discount_pcts == ()


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: f"{a.type}-{a.product_id}-{a.category}-{a.discount_pct}")
@pytest.mark.parametrize("message", MESSAGES)
async def test_every_path_states_exactly_the_action(action: Action, message: str) -> None:
    turn = ChatTurn("s1", message, action, "d1")
    _check(concierge().answer_with_template(turn).reply, action, message)
    for model in (EchoModel(), LyingModel(), ScriptedModel(TimeoutError())):
        c = concierge(model)
        result = await c.answer(turn)
        if route_message(message, c.config).route is not Route.OPEN_QUESTION:
            assert result.reply.source == "rules"
        _check(result.reply, action, message)


async def test_compliant_model_text_is_used_and_lying_text_never_is() -> None:
    action = ACTIONS[0]
    turn = ChatTurn("s1", "any gripping thriller books under 20 euros?", action, "d1")
    good = (await concierge(EchoModel()).answer(turn)).reply
    assert good.source == "lm" and "is a good pick" in good.text
    bad = (await concierge(LyingModel()).answer(turn)).reply
    assert bad.source == "template" and bad.fallback_reason == "lm_invalid"
    assert "p31337" not in bad.text and "60%" not in bad.text and "€1.00" not in bad.text


def test_discount_above_the_cap_is_never_stated() -> None:
    action = Action(type=InterventionType.DISCOUNT, product_id="p00003", discount_pct=45.0)
    reply = concierge().answer_with_template(ChatTurn("s1", "Do you have a discount?", action)).reply
    assert "45" not in reply.text and reply.discount_pct is None
    assert reply.offer_dropped == ("discount_over_cap",)
    assert reply.offer_product_id == "p00003" and "p00003" in reply.product_ids


def test_unknown_product_in_the_action_is_dropped_not_stated() -> None:
    action = Action(type=InterventionType.UPSELL, product_id="p99999")
    reply = concierge().answer_with_template(ChatTurn("s1", "Hi", action)).reply
    assert "p99999" not in reply.text and reply.offer_dropped == ("unknown_product",)
