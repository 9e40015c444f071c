"""SimulationConfig: the frozen settings of one simulation run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from simulator.drift import DriftConfig
from simulator.errors import SimulatorConfigError

__all__ = ["DEFAULT_START_TIME", "SimulationConfig"]

DEFAULT_START_TIME: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
"""Sim time 0 when neither the config nor the caller gives a start (the runner defaults to wall time)."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate. Same config (seed included) and same interventions give byte-identical records.

    Attributes:
        shoppers: population size; each shopper's first visit is uniform over the run, later visits follow.
        duration_s: simulated seconds; no record is due after ``start_time + duration_s``.
        seed: the one seed every random stream is derived from.
        start_time: event time of sim time 0 (tz-aware); ``None`` lets the caller decide.
        malformed_rate: per valid event, probability of also sending one corrupted record.
        duplicate_rate: per valid event, probability of re-sending its exact bytes a few seconds later.
        catalogue_size: number of products.
        categories: number of product categories.
        drift: a shift of preferences and prices during the run (:class:`~simulator.drift.DriftConfig`), or none.
    """

    shoppers: int = 1000
    duration_s: float = 3600.0
    seed: int = 0
    start_time: datetime | None = None
    malformed_rate: float = 0.0
    duplicate_rate: float = 0.0
    catalogue_size: int = 500
    categories: int = 12
    drift: DriftConfig | None = None

    def __post_init__(self) -> None:
        """Reject values the simulation cannot honour.

        Raises:
            SimulatorConfigError: a count, duration, rate or start time is out of range.
        """
        if self.shoppers < 1:
            raise SimulatorConfigError(f"shoppers must be >= 1, got {self.shoppers}")
        if not self.duration_s > 0:
            raise SimulatorConfigError(f"duration_s must be > 0, got {self.duration_s}")
        for name in ("malformed_rate", "duplicate_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise SimulatorConfigError(f"{name} must be in [0, 1], got {rate}")
        if self.categories < 1 or self.catalogue_size < self.categories:
            raise SimulatorConfigError(
                f"need 1 <= categories <= catalogue_size, got {self.categories=} {self.catalogue_size=}"
            )
        if self.start_time is not None and self.start_time.utcoffset() is None:
            raise SimulatorConfigError("start_time must be timezone-aware")
