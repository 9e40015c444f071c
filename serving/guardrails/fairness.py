"""Discount-offer rate parity: a windowed per-group monitor and the rule that enforces a maximum gap."""

from __future__ import annotations

from dataclasses import dataclass

from serving.guardrails.config import FairnessConfig
from serving.guardrails.windows import BucketWindow

__all__ = ["FairnessMonitor", "GroupRate"]

_DECISIONS = "decisions:"
_DISCOUNTS = "discounts:"


@dataclass(frozen=True, slots=True)
class GroupRate:
    """One group's decisions and discount offers in the window."""

    group: str
    decisions: int
    discounts: int

    @property
    def rate(self) -> float:
        """Discount offers per decision (0 without decisions)."""
        return self.discounts / self.decisions if self.decisions else 0.0


@dataclass(frozen=True, slots=True)
class FairnessMonitor:
    """Per-group decision and discount-offer counts over an event-time window (immutable; updates return copies).

    The rate of a group is its discount offers over its decisions (every decision counts, ``none`` included).
    Demographic parity holds within ``max_gap`` when no eligible group's rate exceeds another eligible group's by more
    than ``max_gap``; a group is eligible with at least ``min_decisions`` decisions in the window.

    >>> cfg = FairnessConfig(attribute="age_band", max_gap=0.1, min_decisions=2)
    >>> m = FairnessMonitor.for_config(cfg)
    >>> for group, offered in [("a", True), ("a", True), ("b", False), ("b", True)]:
    ...     m = m.record(group, offered, now_s=10.0)
    >>> {g: r.rate for g, r in m.rates(10.0).items()}, m.parity_gap(10.0, cfg), m.exceeds("a", 10.0, cfg)
    ({'a': 1.0, 'b': 0.5}, 0.5, True)
    """

    window: BucketWindow

    @classmethod
    def for_config(cls, config: FairnessConfig) -> FairnessMonitor:
        """An empty monitor with the configured window."""
        return cls(BucketWindow(config.bucket_s, config.n_buckets))

    def record(self, group: str, discount: bool, now_s: float) -> FairnessMonitor:
        """A new monitor counting one decision of ``group`` (and its discount offer, if it was one)."""
        values = {f"{_DECISIONS}{group}": 1.0, f"{_DISCOUNTS}{group}": 1.0 if discount else 0.0}
        return FairnessMonitor(self.window.add(now_s, values))

    def rates(self, now_s: float) -> dict[str, GroupRate]:
        """Every group seen in the window, by name."""
        totals = self.window.totals(now_s)
        groups = sorted(name[len(_DECISIONS) :] for name in totals if name.startswith(_DECISIONS))
        return {
            g: GroupRate(g, round(totals[f"{_DECISIONS}{g}"]), round(totals.get(f"{_DISCOUNTS}{g}", 0.0)))
            for g in groups
        }

    def parity_gap(self, now_s: float, config: FairnessConfig) -> float:
        """Highest minus lowest rate among eligible groups (0 with fewer than two)."""
        rates = [r.rate for r in self.rates(now_s).values() if r.decisions >= config.min_decisions]
        return max(rates) - min(rates) if len(rates) > 1 else 0.0

    def exceeds(self, group: str, now_s: float, config: FairnessConfig) -> bool:
        """Whether ``group``'s rate is more than ``max_gap`` above the lowest other eligible group's.

        The enforcement rule masks discounts for such a group until its rate comes back within the gap; a group
        below ``min_decisions`` (or with no eligible group to compare with) is never masked.
        """
        rates = self.rates(now_s)
        own = rates.get(group)
        if own is None or own.decisions < config.min_decisions:
            return False
        others = [r.rate for g, r in rates.items() if g != group and r.decisions >= config.min_decisions]
        return bool(others) and own.rate - min(others) > config.max_gap
