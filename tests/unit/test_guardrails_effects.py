"""What each guardrail did to a decision (blocked / changed / masked), on verdicts of the real rules."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from schemas.decisions import Action, InterventionType
from serving.guardrails import (
    GuardContext,
    GuardrailConfig,
    GuardrailEffect,
    GuardrailLabel,
    GuardResult,
    SharedGuardState,
    UserGuardState,
    effects,
    evaluate,
)

T = InterventionType
L = GuardrailLabel
E = GuardrailEffect
CONFIG = GuardrailConfig()
CANDIDATES = [
    Action(type=T.NONE),
    Action(type=T.UPSELL, product_id="p-in"),
    Action(type=T.UPSELL, product_id="p-out"),
    Action(type=T.DISCOUNT, discount_pct=10.0),
    Action(type=T.DISCOUNT, discount_pct=20.0),
    Action(type=T.CHECKOUT_NUDGE),
]
TYPES = [a.type for a in CANDIDATES]
CONSENTED = {"consent_marketing": False, "consent_personalisation": True}


def verdict(user_row: Mapping[str, object] | None = CONSENTED, candidates: list[Action] = CANDIDATES) -> GuardResult:
    ctx = GuardContext(
        now_s=1_750_000_000.0,
        session_id="s1",
        trigger="page_view",
        user_row=user_row,
        session_row={"cart_value": 100.0},
        product_rows={"p-in": {"stock": 5}, "p-out": {"stock": 0}},
    )
    return evaluate(candidates, ctx, UserGuardState(), SharedGuardState.for_config(CONFIG), CONFIG)


def scores_preferring(index: int, n: int = len(CANDIDATES)) -> np.ndarray:
    scores = np.zeros(n)
    scores[index] = 1.0
    return scores


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        (2, {L.OUT_OF_STOCK: E.CHANGED, L.DISCOUNT_LEVEL_CAP: E.MASKED}),
        (4, {L.OUT_OF_STOCK: E.MASKED, L.DISCOUNT_LEVEL_CAP: E.CHANGED}),
        (1, {L.OUT_OF_STOCK: E.MASKED, L.DISCOUNT_LEVEL_CAP: E.MASKED}),
    ],
)
def test_the_rule_that_masked_the_policys_first_preference_changed_the_decision(
    preferred: int, expected: dict[GuardrailLabel, GuardrailEffect]
) -> None:
    result = verdict()
    assert dict(effects(result, TYPES, scores_preferring(preferred))) == expected


def test_every_rule_blocks_when_only_none_is_left() -> None:
    # No personalisation consent: upsells and discounts masked; the stock and level rules mask some of them too.
    candidates = CANDIDATES[:5]
    result = verdict(user_row={"consent_personalisation": False}, candidates=candidates)
    got = effects(result, [a.type for a in candidates], scores_preferring(0, n=5))
    assert got == (
        (L.CONSENT_PERSONALISATION, E.BLOCKED),
        (L.OUT_OF_STOCK, E.BLOCKED),
        (L.DISCOUNT_LEVEL_CAP, E.BLOCKED),
    )


def test_nothing_applied_has_no_effect_and_padding_is_not_a_preference() -> None:
    clean = [CANDIDATES[0], CANDIDATES[1], CANDIDATES[5]]
    assert effects(verdict(candidates=clean), [a.type for a in clean], [0.0, 1.0, 0.0]) == ()
    # A padded slot with the highest score is ignored: the first preference among real candidates is the p-out upsell.
    result = verdict()
    padded = np.concatenate([scores_preferring(2), [9.0, 9.0]])
    assert dict(effects(result, TYPES, padded))[L.OUT_OF_STOCK] is E.CHANGED
