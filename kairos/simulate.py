"""``kairos simulate``: run the shopper simulator against the configured broker and summarise the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kairos.progress import ProgressBar, progress
from kairos.settings import Settings
from simulator import KafkaRecordSink, RecordSink, SimulationConfig, SimulationReport, run_simulation

__all__ = ["CountingSink", "report_summary", "simulate_to_kafka"]


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
    with progress("simulated shoppers' records", unit="rec") as bar:
        return run_simulation(
            settings.kafka.bootstrap,
            settings.topics.raw_events,
            settings.topics.interventions,
            config,
            speed=speed,
            truth_path=truth_path,
            catalogue_topic=settings.topics.catalogue,
            sink=CountingSink(KafkaRecordSink(settings.kafka.bootstrap), bar),
        )


class CountingSink:
    """A record sink that advances a progress bar by one per record it sends on."""

    def __init__(self, inner: RecordSink, bar: ProgressBar) -> None:
        self._inner = inner
        self._bar = bar

    def produce(self, topic: str, key: bytes, value: bytes, timestamp_ms: int) -> None:
        """Send one record on, then count it."""
        self._inner.produce(topic, key, value, timestamp_ms)
        self._bar.update(1)

    def poll(self) -> None:
        """Serve delivery callbacks."""
        self._inner.poll()

    def flush(self, timeout_s: float) -> int:
        """Wait for queued records; returns how many are still undelivered."""
        return self._inner.flush(timeout_s)

    @property
    def delivered(self) -> int:
        """Records acknowledged by the broker."""
        return self._inner.delivered

    @property
    def failed_event_ids(self) -> list[str]:
        """Event ids of records the broker refused."""
        return self._inner.failed_event_ids
