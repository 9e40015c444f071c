"""``kairos bench``: the benchmark commands, added to the ``kairos`` command line through the ``kairos.commands``
entry point (bench/ imports kairos, never the other way round)."""

from __future__ import annotations

from typing import Any

import click
import orjson

__all__ = ["bench"]


def _echo_json(obj: Any) -> None:
    click.echo(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode())


@click.group()
def bench() -> None:
    """Benchmarks: progress on stderr (a bar on a terminal), one JSON object as the only line on stdout."""


@bench.command("ingest")
@click.option("--events", type=int, default=200_000, show_default=True)
@click.option("--partitions", type=int, default=4, show_default=True)
@click.option("--malformed-rate", type=float, default=0.01, show_default=True)
@click.option("--profile", is_flag=True, help="Also print a pyinstrument profile of the ingest run.")
def bench_ingest(events: int, partitions: int, malformed_rate: float, profile: bool) -> None:
    """Events/s through decode+validate+dedupe+route vs a raw confluent-kafka passthrough, same broker."""
    from bench.ingest import run

    _echo_json(run(events=events, partitions=partitions, malformed_rate=malformed_rate, profile=profile))


@bench.command("features")
@click.option("--reads", type=int, default=2000, show_default=True)
@click.option("--online-store", default="sqlite", show_default=True, help="sqlite or a redis:// URL.")
def bench_features(reads: int, online_store: str) -> None:
    """Hot FeatureReader vs Feast SDK get_online_features (user + session + 25 products), same store."""
    from bench.features import run

    _echo_json(run(reads=reads, online_store=online_store))


@bench.command("triton")
@click.option("--calls", type=int, default=2000, show_default=True)
@click.option("--concurrency", type=int, default=16, show_default=True)
def bench_triton(calls: int, concurrency: int) -> None:
    """The policy model through the bundled tritonserver run directly vs PyTriton's proxy, same model, same run."""
    from bench.triton import run

    _echo_json(run(calls=calls, concurrency=concurrency))


@bench.command("ope")
@click.option("--n-sim", type=int, default=100_000, show_default=True, help="Thompson-sampling draws (OBP's n_sim).")
@click.option("--n-bootstrap", type=int, default=10_000, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
def bench_ope(n_sim: int, n_bootstrap: int, seed: int) -> None:
    """Our IPW/SNIPW/DM/DR beside the Open Bandit Pipeline's and its published figures, on the OBD sample."""
    from bench.ope import run

    _echo_json(run(n_sim=n_sim, n_bootstrap=n_bootstrap, seed=seed))


@bench.command("obd")
@click.option("--k", type=int, default=1, show_default=True, help="Show one of the k best items (1: greedy).")
@click.option("--seed", type=int, default=0, show_default=True, help="The learners' initial weights.")
@click.option("--n-bootstrap", type=int, default=2000, show_default=True)
@click.option("--bootstrap-seed", type=int, default=12345, show_default=True)
@click.option("--max-rounds", type=int, default=None, help="Use only the first random rounds (a quick run).")
def bench_obd(k: int, seed: int, n_bootstrap: int, bootstrap_seed: int, max_rounds: int | None) -> None:
    """A policy learned offline from the OBD sample's random logs (IPW/SNIPW/DM/DR on later rounds) vs Bernoulli TS."""
    from bench.obd import run

    _echo_json(run(k=k, seed=seed, n_bootstrap=n_bootstrap, bootstrap_seed=bootstrap_seed, max_rounds=max_rounds))


@bench.command("decide")
@click.option("--rate", type=float, default=1000.0, show_default=True, help="Offered trigger events per second.")
@click.option("--seconds", type=float, default=20.0, show_default=True)
@click.option("--shoppers", type=int, default=400, show_default=True, help="Warm-up population.")
def bench_decide(rate: float, seconds: float, shoppers: int) -> None:
    """Trigger produced -> intervention consumed, p50/p99 at a steady load, policy on Triton."""
    from bench.decide import run

    _echo_json(run(rate=rate, seconds=seconds, shoppers=shoppers))


@bench.command("page")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="Length of each CPU window.")
@click.option("--shoppers", type=int, default=600, show_default=True)
@click.option("--speed", type=float, default=12.0, show_default=True, help="Simulated seconds per wall second.")
def bench_page(seconds: float, shoppers: int, speed: float) -> None:
    """The live page's cost on a loaded worker: its CPU with /live closed, open in chromium, closed again."""
    from bench.live_page import run

    _echo_json(run(seconds=seconds, shoppers=shoppers, speed=speed))


@bench.command("concierge")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Generation deadline per reply, s.")
@click.pass_context
def bench_concierge(ctx: click.Context, timeout: float) -> None:
    """The served concierge model's pass rate on fixed shopper questions (reply contract, grounding)."""
    from bench.concierge import run

    _echo_json(run(timeout_s=timeout, settings=ctx.find_root().obj))


@bench.command("learn")
@click.option("--shoppers", type=int, default=2000, show_default=True)
@click.option("--duration", type=float, default=4 * 3600.0, show_default=True, help="Simulated seconds per run.")
@click.option("--seed", "seeds", type=int, multiple=True, default=(1,), show_default=True, help="Repeatable.")
@click.option("--window", type=float, default=900.0, show_default=True, help="Attribution window, seconds.")
def bench_learn(shoppers: int, duration: float, seeds: tuple[int, ...], window: float) -> None:
    """Kairos's decide+learn loop vs Vowpal Wabbit (--cb_explore_adf --squarecb) and River's LinUCB, same shoppers."""
    from bench.learn import run

    out = run(shoppers=shoppers, duration_s=duration, seeds=seeds, window_s=window)
    _echo_json({**out["headline"], "learners": out["learners"]})


@bench.command("chaos")
@click.option("--kills", type=int, default=5, show_default=True)
@click.option("--shoppers", type=int, default=4000, show_default=True)
@click.option("--gap-s", type=float, default=30.0, show_default=True, help="Start-to-SIGKILL seconds.")
@click.option("--seed", type=int, default=3, show_default=True)
def bench_chaos(kills: int, shoppers: int, gap_s: float, seed: int) -> None:
    """SIGKILL a real worker repeatedly through a simulated stream: losses and duplicates per output topic."""
    from bench.chaos import run

    _echo_json(run(kills=kills, shoppers=shoppers, gap_s=gap_s, seed=seed))


@bench.command("soak")
@click.option("--minutes", type=float, default=10.0, show_default=True)
@click.option("--rate", type=float, default=200.0, show_default=True, help="Offered raw records per second.")
@click.option("--sample-s", type=float, default=10.0, show_default=True)
def bench_soak(minutes: float, rate: float, sample_s: float) -> None:
    """A steady offered load through the whole loop: the worker's RSS and lags over time (flat or not)."""
    from bench.soak import run

    _echo_json(run(minutes=minutes, rate=rate, sample_s=sample_s))


@bench.command("replay")
@click.option("--events", type=int, default=1_000_000, show_default=True, help="Simulated events in the log.")
@click.option("--partitions", type=int, default=4, show_default=True)
@click.option("--policy", default="rules", show_default=True, help="The replays' --policy (live has no Triton).")
def bench_replay(events: int, partitions: int, policy: str) -> None:
    """Archive a simulator log, replay it twice (byte-compared), and run the live stages on the same events."""
    from bench.replay import run

    _echo_json(run(events=events, partitions=partitions, policy=policy))
