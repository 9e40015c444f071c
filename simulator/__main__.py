"""``python -m simulator``: run the simulator against a broker, or measure generation speed without one."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson

from simulator.config import SimulationConfig
from simulator.engine import Simulation
from simulator.runner import run_simulation

__all__ = ["main"]


def _config(args: argparse.Namespace) -> SimulationConfig:
    start = datetime.fromisoformat(args.start_time) if args.start_time else None
    return SimulationConfig(
        shoppers=args.shoppers,
        duration_s=args.duration,
        seed=args.seed,
        start_time=start,
        malformed_rate=args.malformed_rate,
        duplicate_rate=args.duplicate_rate,
        catalogue_size=args.catalogue_size,
        categories=args.categories,
    )


def _bench(config: SimulationConfig) -> dict[str, object]:
    t0 = time.perf_counter()
    sim = Simulation(config)
    t1 = time.perf_counter()
    records = 0
    step = max(1.0, config.duration_s / 100)
    while sim.now < sim.end:
        records += len(sim.advance(sim.now + step))
    t2 = time.perf_counter()
    return {
        "bench": "simulator_generate",
        "records": records,
        "init_s": round(t1 - t0, 3),
        "generate_s": round(t2 - t1, 3),
        "records_per_s": round(records / (t2 - t1)),
        "sessions": sim.summary().sessions_started,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("command", choices=("run", "bench"))
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--events-topic", default="kairos.events.raw.v1")
    parser.add_argument("--interventions-topic", default="kairos.interventions.v1")
    parser.add_argument("--shoppers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-time", default="", help="ISO 8601 with offset; default: now - duration")
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--catalogue-size", type=int, default=500)
    parser.add_argument("--categories", type=int, default=12)
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per wall second; <= 0: flat out")
    parser.add_argument("--truth", type=Path, default=None, help="write the ground-truth JSON lines here")
    parser.add_argument("--grace", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = _config(args)
    if args.command == "bench":
        sys.stdout.write(orjson.dumps(_bench(config)).decode() + "\n")
        return 0
    report = run_simulation(
        args.bootstrap,
        args.events_topic,
        args.interventions_topic,
        config,
        speed=args.speed,
        truth_path=args.truth,
        grace_s=args.grace,
    )
    out = {
        "records_by_kind": report.records_by_kind,
        "expected_dead_letters": report.expected_dead_letters,
        "valid_events": len(report.valid_event_ids),
        "delivered": report.delivered,
        "decisions_received": report.decisions_received,
        "decisions_bad": report.decisions_bad,
        "interventions_applied": report.interventions_applied,
        "reactions": report.reactions,
        "purchases": report.purchases,
        "revenue": report.revenue,
        "conversion_rate": round(report.conversion_rate, 4),
        "wall_seconds": round(report.wall_seconds, 2),
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0 if not report.delivery_failed_event_ids and report.undelivered == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
