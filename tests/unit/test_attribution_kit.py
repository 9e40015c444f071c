"""Builders for the attribution tests: decisions and events at offsets (seconds) from one instant, and a runner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from schemas.decisions import Action, Decision, InterventionType
from schemas.events import (
    ChatMessage,
    ConsentUpdate,
    EmailSignup,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    LineItem,
    PageView,
    Purchase,
    SessionEnd,
    SurveyResponse,
)
from schemas.fields import CURRENT_SCHEMA_VERSION
from schemas.rewards import Reward, RewardComponent
from streams.attribution import AttributionConfig, Attributor, Emission, Intake, Unattributed

T0: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
V: Final = CURRENT_SCHEMA_VERSION
Record = Decision | Event


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def decision(
    decision_id: str,
    t: float,
    *,
    user: str = "u1",
    session: str = "s1",
    kind: InterventionType = InterventionType.CHECKOUT_NUDGE,
    product: str | None = None,
    category: str | None = None,
    window_s: int = 1800,
    trigger: str | None = None,
    trigger_type: str = "product_view",
    propensity: float = 0.5,
) -> Decision:
    """A decision at ``T0 + t``."""
    return Decision(
        decision_id=decision_id,
        event_time=at(t),
        schema_version=V,
        session_id=session,
        trigger_event_id=trigger or f"trigger-{decision_id}",
        trigger_event_type=trigger_type,
        action=Action(type=kind, product_id=product, category=category),
        propensity=propensity,
        policy_name="linucb",
        policy_version="1",
        policy_source="triton",
        attribution_window_s=window_s,
        user_id=user,
    )


def _base(event_id: str, t: float, user: str, session: str) -> dict[str, object]:
    return {"event_id": event_id, "event_time": at(t), "schema_version": V, "session_id": session, "user_id": user}


def impression(event_id: str, t: float, decision_id: str, *, user: str = "u1", session: str = "s1") -> Event:
    """The decision's intervention was shown."""
    return InterventionImpression(**_base(event_id, t, user, session), decision_id=decision_id)  # type: ignore[arg-type]


def click(event_id: str, t: float, decision_id: str, *, user: str = "u1", session: str = "s1") -> Event:
    """The decision's intervention was clicked."""
    return InterventionClick(**_base(event_id, t, user, session), decision_id=decision_id)  # type: ignore[arg-type]


def dismiss(event_id: str, t: float, decision_id: str, *, user: str = "u1", session: str = "s1") -> Event:
    """The decision's intervention was dismissed."""
    return InterventionDismiss(**_base(event_id, t, user, session), decision_id=decision_id)  # type: ignore[arg-type]


def purchase(
    event_id: str,
    t: float,
    lines: Sequence[tuple[str, float]] = (("p1", 50.0),),
    *,
    user: str = "u1",
    session: str = "s1",
    token: str | None = None,
    discount: float = 0.0,
    category: str | None = None,
) -> Event:
    """A purchase of ``(product, unit price)`` lines, one unit each; ``discount`` on the first line."""
    items = [
        LineItem(product_id=p, quantity=1, unit_price=price, category=category, discount=discount if i == 0 else 0.0)
        for i, (p, price) in enumerate(lines)
    ]
    gross = sum(price for _, price in lines)
    return Purchase(
        **_base(event_id, t, user, session),  # type: ignore[arg-type]
        order_id=f"o-{event_id}",
        items=items,
        order_value=gross - discount,
        discount_total=discount,
        decision_id=token,
    )


def survey(
    event_id: str, t: float, score: int, *, user: str = "u1", session: str = "s1", token: str | None = None
) -> Event:
    """A 1-5 satisfaction survey answer."""
    return SurveyResponse(**_base(event_id, t, user, session), survey_id="csat", score=score, decision_id=token)  # type: ignore[arg-type]


def chat(event_id: str, t: float, text: str, *, user: str = "u1", session: str = "s1") -> Event:
    """A chat message."""
    return ChatMessage(**_base(event_id, t, user, session), text=text)  # type: ignore[arg-type]


def page_view(event_id: str, t: float, *, user: str = "u1", session: str = "s1") -> Event:
    """A page view."""
    return PageView(**_base(event_id, t, user, session), page_type="home")  # type: ignore[arg-type]


def session_end(event_id: str, t: float, *, user: str = "u1", session: str = "s1") -> Event:
    """The session ended."""
    return SessionEnd(**_base(event_id, t, user, session))  # type: ignore[arg-type]


def unsubscribe(event_id: str, t: float, *, user: str = "u1", session: str = "s1") -> Event:
    """Marketing consent withdrawn."""
    return ConsentUpdate(**_base(event_id, t, user, session), marketing=False)  # type: ignore[arg-type]


def signup(event_id: str, t: float, *, user: str = "u1", session: str = "s1") -> Event:
    """An e-mail sign-up."""
    return EmailSignup(**_base(event_id, t, user, session), email_hash="ab" * 16, consent_marketing=True)  # type: ignore[arg-type]


def feed(attributor: Attributor, record: Record) -> Intake:
    """Hand one record to the attributor."""
    if isinstance(record, Decision):
        return attributor.add_decision(record)
    return attributor.add_event(record)


@dataclass
class Run:
    """What a run released."""

    rewards: list[Reward]
    unattributed: list[Unattributed]
    intakes: list[Intake]

    def value(self, decision_id: str, component: RewardComponent) -> float:
        """The one emitted value of a decision's component."""
        (found,) = [r.value for r in self.rewards if r.decision_id == decision_id and r.component is component]
        return found

    def components(self, decision_id: str) -> dict[RewardComponent, float]:
        """Every emitted value of a decision, by component."""
        return {r.component: r.value for r in self.rewards if r.decision_id == decision_id}


def collect(run: Run, emission: Emission) -> None:
    """Append an emission to a run."""
    run.rewards.extend(emission.rewards)
    run.unattributed.extend(emission.unattributed)


def run(
    records: Iterable[Record],
    config: AttributionConfig | None = None,
    *,
    attributor: Attributor | None = None,
    advance_every: int = 1,
    drain: bool = True,
) -> Run:
    """Feed ``records`` in order, advancing every ``advance_every`` records, then drain."""
    attributor = attributor if attributor is not None else Attributor(config)
    result = Run([], [], [])
    for i, record in enumerate(records, start=1):
        result.intakes.append(feed(attributor, record))
        if i % advance_every == 0:
            collect(result, attributor.advance())
    collect(result, attributor.drain() if drain else attributor.advance())
    return result


def reward_key(reward: Reward) -> tuple[object, ...]:
    """Everything a reward says, hashable (for set comparisons)."""
    return (
        reward.reward_id,
        reward.decision_id,
        reward.component,
        reward.value,
        reward.final,
        reward.event_time,
        tuple(reward.outcome_event_ids),
    )


def test_builders_make_valid_records() -> None:
    records: list[Record] = [decision("d1", 0), impression("i1", 1, "d1"), purchase("e1", 5, token="d1")]
    result = run(records)
    assert result.intakes == [Intake.ACCEPTED] * 3
    assert result.value("d1", RewardComponent.CONVERSION) == 1.0
