"""``kairos simulate``: run the shopper simulator against the configured broker and summarise the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kairos.settings import Settings
from simulator import SimulationConfig, SimulationReport, run_simulation

__all__ = ["report_summary", "simulate_to_kafka"]


def report_summary(report: SimulationReport) -> dict[str, Any]:
    """The JSON-friendly part of a simulation report (ids are counted, not listed)."""
    return {
        "start_time": report.start_time.isoformat(),
        "records_by_kind": report.records_by_kind,
        "expected_dead_letters": report.expected_dead_letters,
        "valid_events": len(report.valid_event_ids),
        "delivered": report.delivered,
        "undelivered": report.undelivered,
        "decisions_received": report.decisions_received,
        "decisions_bad": report.decisions_bad,
        "interventions_applied": report.interventions_applied,
        "reactions": report.reactions,
        "sessions": report.sessions,
        "purchases": report.purchases,
        "revenue": round(report.revenue, 2),
        "conversion_rate": round(report.conversion_rate, 4),
        "events_by_type": report.events_by_type,
        "truth_path": str(report.truth_path) if report.truth_path else None,
        "wall_seconds": round(report.wall_seconds, 2),
    }


def simulate_to_kafka(
    settings: Settings,
    *,
    shoppers: int,
    duration_s: float,
    seed: int,
    speed: float,
    malformed_rate: float = 0.0,
    duplicate_rate: float = 0.0,
    truth_path: Path | None = None,
) -> SimulationReport:
    """Publish a seeded population's sessions to the raw events topic and react to published interventions."""
    config = SimulationConfig(
        shoppers=shoppers,
        duration_s=duration_s,
        seed=seed,
        malformed_rate=malformed_rate,
        duplicate_rate=duplicate_rate,
    )
    return run_simulation(
        settings.kafka.bootstrap,
        settings.topics.raw_events,
        settings.topics.interventions,
        config,
        speed=speed,
        truth_path=truth_path,
        catalogue_topic=settings.topics.catalogue,
    )
