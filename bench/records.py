"""Benchmark input: realistic records from the seeded shopper simulator (valid events plus malformed ones)."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator import Simulation, SimulationConfig, default_start_time

__all__ = ["generate_records"]

_DURATION_S = 6 * 3600.0


def generate_records(n: int, *, seed: int, malformed_rate: float) -> list[tuple[bytes, bytes]]:
    """The first ``n`` ``(key, value)`` records of a simulation sized to produce at least ``n``."""
    shoppers = max(200, n // 25)
    while True:
        config = SimulationConfig(
            shoppers=shoppers,
            duration_s=_DURATION_S,
            seed=seed,
            start_time=default_start_time(datetime.now(UTC), _DURATION_S),
            malformed_rate=malformed_rate,
        )
        sim = Simulation(config)
        records = [(r.key, r.value) for r in sim.advance(sim.end)]
        if len(records) >= n:
            return records[:n]
        shoppers = int(shoppers * 1.5 * n / max(len(records), 1)) + 1
