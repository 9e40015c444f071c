"""Credit: which of a user's pending decisions an outcome may reward, and each one's share of it."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.decisions import InterventionType
from streams.attribution.config import CreditRule, ValueClaim
from streams.attribution.outcomes import Outcome, OutcomeKind, attributable_net
from streams.attribution.store import PendingDecision

__all__ = ["Credit", "claim", "credit"]

Credit = tuple[PendingDecision, float, float]
"""``(decision, share, raw)``: the decision is credited ``share * raw``."""


_EXIT_INTENT = "exit_intent"


def claim(
    outcome: Outcome, pending: PendingDecision, quick_exit_us: int, value_claim: ValueClaim = ValueClaim.ORDER
) -> float | None:
    """The raw value ``pending`` may claim from ``outcome``; ``None`` when it is not eligible.

    Eligible means: the outcome lies in the decision's window for its component (backward window included);
    the intervention was shown no later than the outcome (plus the backward window); the outcome is not the
    decision's own trigger; and the kind's own condition holds: a dismissal names the decision; a sign-up
    rewards only an e-mail capture the shopper clicked (an organic sign-up earns nothing); a return visit is another
    session; a quick exit is the decision's session ending within ``quick_exit_us`` of the showing of an
    intervention (not ``none``) that the shopper's own exit intent did not trigger; with
    :attr:`ValueClaim.OFFERED`, a purchase contains what the decision offered.
    """
    info, t = pending.info, outcome.time_us
    start, end = pending.windows[outcome.component]
    if not start <= t <= end or info.trigger_event_id == outcome.event_id:
        return None
    shown = pending.activated_us
    if shown is None or shown > t + (info.time_us - start):
        return None
    kind = outcome.kind
    if kind is OutcomeKind.DISMISSAL and outcome.token != info.decision_id:
        return None
    if kind is OutcomeKind.SIGNUP and (
        info.action.type is not InterventionType.EMAIL_CAPTURE or pending.clicked_us is None or pending.clicked_us > t
    ):
        return None
    if kind is OutcomeKind.VISIT and outcome.session_id == info.session_id:
        return None
    if kind is OutcomeKind.SESSION_END and (
        outcome.session_id != info.session_id
        or t - shown > quick_exit_us
        or info.action.type is InterventionType.NONE
        or info.trigger_event_type == _EXIT_INTENT
    ):
        return None
    if kind is OutcomeKind.PURCHASE_VALUE and value_claim is ValueClaim.OFFERED:
        return attributable_net(outcome, info.action)
    return outcome.raw


def credit(
    outcome: Outcome,
    candidates: Sequence[PendingDecision],
    rule: CreditRule,
    *,
    half_life_us: int,
    quick_exit_us: int,
    honour_tokens: bool,
    value_claim: ValueClaim = ValueClaim.ORDER,
) -> list[Credit]:
    """The decisions ``outcome`` is credited to, with shares.

    Args:
        outcome: the outcome.
        candidates: the user's pending decisions, oldest first (decision time, then id).
        rule: the credit rule of the outcome's component.
        half_life_us: the half-life of :attr:`CreditRule.TIME_DECAY`, in microseconds.
        quick_exit_us: the quick-exit limit, in microseconds.
        honour_tokens: under a splitting rule (last touch, time decay), give an outcome naming an eligible decision
            to that decision alone; ``every`` does not split, so it ignores tokens.
        value_claim: which part of a purchase a decision claims.

    Returns:
        ``(decision, share, raw)`` triples in candidate order; empty when no decision is eligible. Shares sum
        to 1 for last-touch, time decay and a token; every eligible decision gets share 1 for ``every``.
    """
    eligible: list[tuple[PendingDecision, float]] = []
    for pending in candidates:
        raw = claim(outcome, pending, quick_exit_us, value_claim)
        if raw is not None:
            eligible.append((pending, raw))
    if not eligible:
        return []
    if rule is CreditRule.EVERY:
        return [(pending, 1.0, raw) for pending, raw in eligible]
    if honour_tokens and outcome.token is not None:
        for pending, raw in eligible:
            if pending.info.decision_id == outcome.token:
                return [(pending, 1.0, raw)]
    if rule is CreditRule.LAST_TOUCH:
        pending, raw = eligible[-1]
        return [(pending, 1.0, raw)]
    # Ages relative to the youngest decision: the same shares, and the youngest weighs 1 (no underflow to 0/0).
    youngest = max(p.info.time_us for p, _ in eligible)
    weights = [0.5 ** ((youngest - p.info.time_us) / half_life_us) for p, _ in eligible]
    total = sum(weights)
    return [(p, w / total, raw) for (p, raw), w in zip(eligible, weights, strict=True)]
