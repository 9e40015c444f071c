"""The ground-truth log: per decision, what the oracle knew, what the shopper did and what it earned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from simulator.activity import ActionType
from simulator.wire import event_time

__all__ = ["RealisedOutcome", "TruthEntry", "TruthStatus"]

TruthStatus: TypeAlias = Literal[
    "applied", "scheduled", "session_ended", "unknown_session", "duplicate", "expired", "bad_payload"
]


@dataclass(frozen=True, slots=True)
class RealisedOutcome:
    """What the session chain (the session plus any return-to-buy visit) finally produced.

    Attributes:
        purchased: any purchase in the chain after the decision was shown.
        order_value: net order value summed over those purchases.
        discount_total: discount given on them.
        attributed: a purchase carried this decision's id (last-touch attribution by the storefront).
        resolved_at: sim time the chain ended.
    """

    purchased: bool
    order_value: float
    discount_total: float
    attributed: bool
    resolved_at: float


@dataclass(slots=True)
class TruthEntry:
    """One decision as the simulation saw it. ``oracle`` has the value of every action type at ``applied_at``.

    ``regret`` = max(best canonical value, chosen value) - chosen value; ``None`` unless applied. ``regime`` counts
    the drifts (:mod:`simulator.drift`) that had happened when the decision was received (0 without drift).
    """

    decision_id: str
    session_id: str
    action: ActionType
    received_at: float
    status: TruthStatus = "scheduled"
    product_id: str | None = None
    category: str | None = None
    discount_pct: float | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    group: str | None = None
    applied_at: float | None = None
    oracle: dict[str, float] = field(default_factory=dict)
    chosen_value: float | None = None
    best_action: str | None = None
    regret: float | None = None
    reaction: str | None = None
    p_accept: float | None = None
    offered_product_id: str | None = None
    outcome: RealisedOutcome | None = None
    regime: int = 0

    def to_json(self, start_time: datetime) -> dict[str, Any]:
        """A JSON-ready dict (times as RFC 3339 strings), one line of the truth file."""
        out: dict[str, Any] = {
            "decision_id": self.decision_id,
            "session_id": self.session_id,
            "status": self.status,
            "action": {
                "type": self.action,
                "product_id": self.product_id,
                "category": self.category,
                "discount_pct": self.discount_pct,
                "offered_product_id": self.offered_product_id,
            },
            "user_id": self.user_id,
            "anonymous_id": self.anonymous_id,
            "group": self.group,
            "received_at": event_time(start_time, self.received_at).isoformat(),
            "applied_at": None if self.applied_at is None else event_time(start_time, self.applied_at).isoformat(),
            "oracle": {k: round(v, 6) for k, v in self.oracle.items()},
            "chosen_value": None if self.chosen_value is None else round(self.chosen_value, 6),
            "best_action": self.best_action,
            "regret": None if self.regret is None else round(self.regret, 6),
            "reaction": self.reaction,
            "p_accept": None if self.p_accept is None else round(self.p_accept, 6),
            "outcome": None,
            "regime": self.regime,
        }
        if self.outcome is not None:
            o = self.outcome
            out["outcome"] = {
                "purchased": o.purchased,
                "order_value": round(o.order_value, 2),
                "discount_total": round(o.discount_total, 2),
                "attributed": o.attributed,
                "resolved_at": event_time(start_time, o.resolved_at).isoformat(),
            }
        return out
