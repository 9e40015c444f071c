"""What the attributor hands back: intake verdicts, emissions (rewards, unattributed outcomes) and counters."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

from schemas.events import Event
from schemas.rewards import Reward, RewardComponent
from streams.attribution.store import DecisionInfo

__all__ = ["AttributionStats", "Emission", "Intake", "Settled", "Unattributed", "UnattributedReason"]


class Intake(StrEnum):
    """What :meth:`~streams.attribution.Attributor.add_decision` / ``add_event`` did with one record."""

    ACCEPTED = "accepted"
    """Held: a decision stored, an impression applied, an outcome buffered or credited."""
    DUPLICATE = "duplicate"
    """Seen before (same decision id or event id): ignored."""
    LATE = "late"
    """Too late to change anything: every window it could count in was already emitted. Dead-letter it."""
    IGNORED = "ignored"
    """Nothing to hold: not an outcome, a session already seen, or (behind the lateness) an outcome no decision was
    eligible for. An outcome within the lateness is always held first (:attr:`ACCEPTED`)."""


class UnattributedReason(StrEnum):
    """Why an outcome (or impression, click) earned no decision anything."""

    UNKNOWN_DECISION = "unknown_decision"
    """No held decision with that id could take it: never seen on this partition (a keying or wiring problem),
    already forgotten, or feedback outside the decision's activation interval (an impression after the timeout)."""
    NOT_SHOWN = "not_shown"
    """The named decision was never activated by an impression."""
    OUTSIDE_WINDOW = "outside_window"
    """The named decision exists but the outcome falls outside its window (or fails its other conditions)."""
    NO_DECISION = "no_decision"
    """The outcome names no decision and none was eligible (reported only with ``report_organic``)."""


@dataclass(frozen=True, slots=True)
class Unattributed:
    """An outcome or feedback event no decision could take; dead-letter it with ``reason``.

    ``decision_id`` is the decision the event named, ``None`` for an organic outcome (``report_organic``).
    """

    event: Event
    decision_id: str | None
    reason: UnattributedReason


@dataclass(frozen=True, slots=True)
class Settled:
    """A decision whose rewards are all emitted: the decision, whether it was shown and its final values.

    ``values`` holds every component and ``composite``; a decision never shown has only ``composite``.
    ``evicted`` is true when it was closed early to respect the store's bounds.
    """

    decision: DecisionInfo
    shown: bool
    values: dict[RewardComponent, float]
    evicted: bool = False


@dataclass(frozen=True, slots=True)
class Emission:
    """Everything one :meth:`~streams.attribution.Attributor.advance` released, in deterministic order."""

    rewards: tuple[Reward, ...] = ()
    unattributed: tuple[Unattributed, ...] = ()
    settled: tuple[Settled, ...] = ()


@dataclass(slots=True)
class AttributionStats:
    """Monotonic counters since the state was created (they travel with the checkpoint).

    Attributes:
        decisions: decisions stored.
        duplicate_decisions: decision records ignored as copies.
        late_decisions: decisions that arrived behind the lateness but were still stored.
        stale_decisions: decisions that arrived after every window had closed: dropped.
        duplicate_events: outcome events ignored as copies.
        outcomes: outcomes credited to at least one decision.
        organic: outcomes no decision was eligible for (normal: most purchases follow no intervention).
        late: outcome and impression events reported :attr:`Intake.LATE`.
        late_credited: outcomes behind the lateness that still reached an open window.
        unattributed: outcomes reported as :class:`Unattributed`.
        impressions: decisions activated.
        not_shown: decisions closed without ever being shown.
        evicted: decisions closed early because the store was full.
        dropped_outcomes: contributions dropped because a tally was full.
        rewards: reward records emitted.
    """

    decisions: int = 0
    duplicate_decisions: int = 0
    late_decisions: int = 0
    stale_decisions: int = 0
    duplicate_events: int = 0
    outcomes: int = 0
    organic: int = 0
    late: int = 0
    late_credited: int = 0
    unattributed: int = 0
    impressions: int = 0
    not_shown: int = 0
    evicted: int = 0
    dropped_outcomes: int = 0
    rewards: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name (for metrics)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
