"""SimulationSummary: the counts a run produced, for reports and assertions."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SimulationSummary"]


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """Counters of one simulation so far.

    Attributes:
        sim_time: sim seconds reached.
        sessions_started, sessions_ended, sessions_converted: session counts (converted: with a purchase).
        events_by_type: valid events by ``event_type``.
        records_by_kind: records by kind (``valid``, ``malformed``, ``duplicate``).
        malformed_by_reason: malformed records by expected dead-letter reason.
        interventions_received: decisions handed to the simulation (decodable ones).
        interventions_applied: decisions shown (or, for ``none``, acknowledged) in a live session.
        interventions_by_status: every decision's final status (see :class:`~simulator.truth.TruthEntry`).
        reactions: applied decisions by reaction (``accept``, ``ignore``, ``dismiss``, ``leave``, ``none``).
        purchases, revenue, discount_total: orders, their net value and the discount given (EUR).
        email_signups: signups, organic or from email capture.
        conversion_rate: converted sessions / started sessions.
        truth_entries: decisions in the ground-truth log.
    """

    sim_time: float
    sessions_started: int
    sessions_ended: int
    sessions_converted: int
    events_by_type: dict[str, int] = field(default_factory=dict)
    records_by_kind: dict[str, int] = field(default_factory=dict)
    malformed_by_reason: dict[str, int] = field(default_factory=dict)
    interventions_received: int = 0
    interventions_applied: int = 0
    interventions_by_status: dict[str, int] = field(default_factory=dict)
    reactions: dict[str, int] = field(default_factory=dict)
    purchases: int = 0
    revenue: float = 0.0
    discount_total: float = 0.0
    email_signups: int = 0
    conversion_rate: float = 0.0
    truth_entries: int = 0
