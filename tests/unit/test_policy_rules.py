"""The rule policy on crafted sessions: each rule, its fallbacks under masks, propensity 1, explanations."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from serving.policy import (
    RULES_VERSION,
    CandidateSources,
    ModelScores,
    RulePolicy,
    StateEncoder,
    action_key,
    decide,
    generate_candidates,
)

ENC = StateEncoder()
RULES = RulePolicy(ENC)
ROWS = {
    "shoe-1": {"category": "shoes", "price": 60.0, "co_purchased": ["sock-1", "shoe-2"]},
    "shoe-2": {"category": "shoes", "price": 90.0},
    "sock-1": {"category": "socks", "price": 6.0},
}


def rule_choice(
    trigger: str,
    session: Mapping[str, object],
    *,
    product: str | None = None,
    blocked: frozenset[str] = frozenset(),
    popular: tuple[str, ...] = ("pop-1",),
) -> tuple[str, float]:
    sources = CandidateSources(current_product_id=product, product_rows=ROWS, popular=popular)
    candidates = generate_candidates(sources)
    state = ENC.encode_state({"purchase_count": 1}, session, ModelScores(), trigger)
    vectors, valid = ENC.encode_candidates(candidates, ROWS, anchor_product_id=product, pad_to=25)
    for i, c in enumerate(candidates):
        valid[i] &= action_key(c.action) not in blocked
    choice = decide(RULES, state, vectors, valid, f"d-{trigger}")
    return action_key(candidates[choice.index].action), choice.propensity


@pytest.mark.parametrize(
    ("trigger", "session", "product", "blocked", "expected"),
    [
        ("exit_intent", {}, None, frozenset(), "discount:10"),
        ("page_view", {"exit_intent": True}, None, frozenset(), "discount:10"),
        ("exit_intent", {}, None, frozenset({"discount:10"}), "checkout_nudge"),
        ("exit_intent", {}, None, frozenset({"discount:10", "checkout_nudge"}), "none"),
        ("add_to_cart", {"cart_size": 2, "checkout_started": True}, None, frozenset(), "checkout_nudge"),
        ("add_to_cart", {"cart_size": 0, "checkout_started": True}, None, frozenset(), "none"),
        ("product_view", {}, "shoe-1", frozenset(), "upsell:shoe-2"),
        ("product_view", {}, "shoe-1", frozenset({"upsell:shoe-2"}), "cross_sell:sock-1"),
        ("product_view", {}, "shoe-1", frozenset({"upsell:shoe-2", "cross_sell:sock-1"}), "none"),
        ("product_view", {}, "sock-1", frozenset(), "none"),  # no co-purchase neighbours: popular items don't count
        ("chat_message", {}, None, frozenset(), "concierge_message"),
        ("chat_message", {}, None, frozenset({"concierge_message"}), "none"),
        ("search", {}, None, frozenset(), "none"),
        # priority: exit intent beats checkout, checkout beats the product view
        ("exit_intent", {"cart_size": 1, "checkout_started": True}, None, frozenset(), "discount:10"),
        ("product_view", {"cart_size": 1, "checkout_started": True}, "shoe-1", frozenset(), "checkout_nudge"),
    ],
)
def test_rules(
    trigger: str, session: dict[str, object], product: str | None, blocked: frozenset[str], expected: str
) -> None:
    key, propensity = rule_choice(trigger, session, product=product, blocked=blocked)
    assert key == expected
    assert propensity == 1.0


def test_discount_level_is_configurable() -> None:
    policy = RulePolicy(ENC, discount_pct=15.0)
    candidates = generate_candidates(CandidateSources())
    state = ENC.encode_state(None, None, ModelScores(), "exit_intent")
    vectors, valid = ENC.encode_candidates(candidates, {}, pad_to=25)
    choice = decide(policy, state, vectors, valid, "d")
    assert action_key(candidates[choice.index].action) == "discount:15"


def test_rule_names_and_explanations() -> None:
    cases = {
        "exit_intent": ("exit_intent", {}),
        "checkout": ("page_view", {"cart_size": 1, "checkout_started": True}),
        "product_view": ("product_view", {}),
        "chat": ("chat_message", {}),
        "default": ("search", {}),
    }
    for name, (trigger, session) in cases.items():
        state = ENC.encode_state(None, session, ModelScores(), trigger)
        assert RULES.rule_of(state) == name
        [contribution] = RULES.explain(state)
        assert contribution.name == f"rule={name}" and contribution.contribution == 1.0
    assert RULES.version == RULES_VERSION


def test_rules_need_no_exploration_seed() -> None:
    scores = np.array([0.0, 3.0, 2.0])
    mask = np.array([True, True, True])
    assert RULES.choose(scores, mask, seed=1)[0] == RULES.choose(scores, mask, seed=2)[0] == 1
