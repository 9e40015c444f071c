"""The ``kairos`` command line: the composition root that builds settings and hands them down."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import click
import orjson

from kairos.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


@click.group()
@click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True), help="TOML settings file.")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, log_level: str) -> None:
    """Kairos: real-time sales interventions from a clickstream."""
    _configure_logging(log_level)
    try:
        ctx.obj = load_settings(os.environ, config_file)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


class _ChildProcess(Protocol):
    """A server Kairos started (broker, Triton): its ``Popen`` and how to stop it by PID."""

    @property
    def process(self) -> subprocess.Popen[bytes]: ...

    def stop(self) -> None: ...


def _run_in_foreground(child: _ChildProcess) -> None:
    """Wait for ``child``; SIGTERM or Ctrl-C stops it."""
    signal.signal(signal.SIGTERM, lambda *_: child.stop())
    try:
        child.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        child.stop()


def _echo_json(obj: Any) -> None:
    click.echo(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode())


@cli.command()
@click.option("--port", type=int, default=None, help="Listen port (default: settings broker.port).")
@click.option("--storage", default=None, help="Tansu storage URL (memory://tansu/ or s3://…).")
@click.pass_context
def broker(ctx: click.Context, port: int | None, storage: str | None) -> None:
    """Run the embedded Tansu broker on 127.0.0.1 in the foreground (development and tests)."""
    from dataclasses import replace

    from streams.broker import start_broker
    from streams.errors import BrokerBinaryError, BrokerStartError

    settings: Settings = ctx.obj
    config = replace(settings.broker, port=port or settings.broker.port, storage=storage or settings.broker.storage)
    try:
        process = start_broker(config)
    except (BrokerBinaryError, BrokerStartError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"broker pid={process.pid} bootstrap={process.bootstrap} storage={config.storage}")
    _run_in_foreground(process)


@cli.command()
@click.option("--free-ports", is_flag=True, help="Pick free ports instead of the configured ones.")
@click.pass_context
def triton(ctx: click.Context, free_ports: bool) -> None:
    """Run the embedded Triton server on 127.0.0.1 (own environment; writes the model repository first)."""
    from kairos.serving import prepare_repository, triton_config
    from serving.inference import ServerEnvironmentError, TritonStartError, start_triton

    settings: Settings = ctx.obj
    prepare_repository(settings)
    try:
        process = start_triton(triton_config(settings, free_ports=free_ports))
    except (ServerEnvironmentError, TritonStartError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"triton pid={process.pid} grpc={process.grpc_url} http={process.http_url}")
    _run_in_foreground(process)


@cli.command()
@click.argument("decision_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON instead.")
@click.pass_context
def explain(ctx: click.Context, decision_id: str, as_json: bool) -> None:
    """Print one decision from the interventions topic: trigger, choice, propensity, guardrails, why."""
    import msgspec

    from kairos.explain import find_decision, render_decision

    settings: Settings = ctx.obj
    found = find_decision(settings.kafka, settings.topics.interventions, settings.topics.partitions, decision_id)
    if found is None:
        raise click.ClickException(f"no decision {decision_id} on {settings.topics.interventions}")
    click.echo(_json_text(msgspec.to_builtins(found)) if as_json else render_decision(found))


def _json_text(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()


@cli.group()
def topics() -> None:
    """Topic administration."""


@topics.command("create")
@click.pass_context
def topics_create(ctx: click.Context) -> None:
    """Create every Kairos topic (idempotent; checks partition counts of existing ones)."""
    from streams.errors import TopicLayoutError
    from streams.topics import ensure_topics, topic_specs

    settings: Settings = ctx.find_root().obj
    try:
        _echo_json(ensure_topics(settings.kafka, topic_specs(settings.topics)))
    except TopicLayoutError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the worker: every stage of the loop, metrics on /metrics."""
    from kairos.worker import run_worker

    sys.argv = [sys.argv[0]]  # faust's Worker parses argv; it must not see ours
    try:
        run_worker(ctx.obj)
    except SettingsError as exc:  # e.g. privacy.pseudonymise on without a key: fail closed
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("user_id")
@click.option("--wait", "wait_s", type=float, default=60.0, show_default=True, help="Seconds to wait for the worker.")
@click.pass_context
def forget(ctx: click.Context, user_id: str, wait_s: float) -> None:
    """Erase a shopper (the id as the publisher sends it): features, guard state, Feast rows (docs/privacy.md)."""
    from kairos.privacy import forget_user

    try:
        result = forget_user(ctx.obj, user_id, wait_s=wait_s)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_json(
        {"user_key": result.user_key, "partition": result.partition, "offset": result.offset, "erased": result.erased}
    )
    if not result.erased:
        raise click.ClickException(f"published, but the feature stage has not passed it within {wait_s:.0f}s")


@cli.command()
@click.option("--shoppers", type=int, default=200, show_default=True)
@click.option("--duration", type=float, default=600.0, show_default=True, help="Simulated seconds.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--speed", type=float, default=60.0, show_default=True, help="Sim seconds per wall second; 0 = max.")
@click.option("--malformed-rate", type=float, default=0.0, show_default=True)
@click.option("--duplicate-rate", type=float, default=0.0, show_default=True)
@click.option("--truth", type=click.Path(path_type=Path), default=None, help="Ground-truth JSONL output.")
@click.pass_context
def simulate(
    ctx: click.Context,
    shoppers: int,
    duration: float,
    seed: int,
    speed: float,
    malformed_rate: float,
    duplicate_rate: float,
    truth: Path | None,
) -> None:
    """Seeded synthetic shoppers: publish sessions, react to interventions; prints a JSON report."""
    from kairos.simulate import report_summary, simulate_to_kafka

    report = simulate_to_kafka(
        ctx.obj,
        shoppers=shoppers,
        duration_s=duration,
        seed=seed,
        speed=speed,
        malformed_rate=malformed_rate,
        duplicate_rate=duplicate_rate,
        truth_path=truth,
    )
    _echo_json(report_summary(report))


@cli.group()
def dlq() -> None:
    """Dead letters: list and re-drive."""


@dlq.command("list")
@click.option("--reason", default=None, help="Only this reason.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def dlq_list(ctx: click.Context, reason: str | None, limit: int, as_json: bool) -> None:
    """List dead letters with their reason, source coordinates and a preview of the raw bytes."""
    from collections import Counter

    from kairos.progress import track
    from streams.deadletters import iter_dead_letters

    settings: Settings = ctx.find_root().obj
    counts: Counter[str] = Counter()
    shown = 0
    letters = iter_dead_letters(settings.kafka, settings.topics.dead_letters)
    for msg, letter in track(letters, f"scanning {settings.topics.dead_letters}", unit="rec"):
        counts[letter.reason] += 1
        if (reason and letter.reason != reason) or shown >= limit:
            continue
        shown += 1
        row = {
            "dlq": f"{msg.partition()}/{msg.offset()}",
            "reason": letter.reason,
            "field": letter.field,
            "detail": letter.detail,
            "stage": letter.stage,
            "source": f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}",
            "raw": letter.raw[:120].decode("utf-8", "replace"),
        }
        if as_json:
            _echo_json(row)
        else:
            click.echo(
                f"{row['dlq']:>10}  {row['reason']:<26} {row['source']}  {row['field'] or ''} {row['detail']}\n"
                f"{'':>12}{row['raw']!r}"
            )
    click.echo(f"total={sum(counts.values())} by_reason={dict(sorted(counts.items()))}", err=True)


@dlq.command("redrive")
@click.option("--reason", default=None, help="Only dead letters with this reason.")
@click.option(
    "--group",
    default="kairos-dlq-redrive",
    show_default=True,
    help="Progress is committed per reason under GROUP.<reason>.",
)
@click.option("--dry-run", is_flag=True)
@click.pass_context
def dlq_redrive(ctx: click.Context, reason: str | None, group: str, dry_run: bool) -> None:
    """Send dead letters back to the topic they came from (after a fix), each once per --group.

    Only letters from topics publishers write (raw events, catalogue) go back; letters of derived topics (e.g. the
    attribution stage's, from the events topic) and truncated letters are refused: counted, never produced.
    """
    from kairos.progress import progress
    from streams.deadletters import redrive

    settings: Settings = ctx.find_root().obj
    topics = settings.topics
    with progress(f"scanning {topics.dead_letters}", unit="rec") as bar:
        result = redrive(
            settings.kafka,
            topics.dead_letters,
            group,
            sources={topics.raw_events, topics.catalogue},
            reason=reason,
            dry_run=dry_run,
            on_scanned=bar.update,
        )
    _echo_json(
        {"scanned": result.scanned, "redriven": result.redriven, "skipped": result.skipped, "refused": result.refused}
    )
    if result.refused:
        raise click.ClickException(
            f"{sum(result.refused.values())} dead letter(s) cannot be re-driven and were not: "
            + "; ".join(f"{n} x {why}" for why, n in sorted(result.refused.items()))
        )


_ARCHIVED = "raw_events,events,catalogue,interventions,rewards,decision_contexts,dead_letters"


def _progress(unit: str) -> Any:
    """A tqdm progress bar on stderr, silent when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(unit=unit, unit_scale=True, disable=not sys.stderr.isatty(), file=sys.stderr)


@cli.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option(
    "--topics",
    "topic_names",
    default=_ARCHIVED,
    show_default=True,
    help="Comma-separated topics: TopicsConfig names (raw_events, interventions…) or full topic names.",
)
@click.option("--from-jsonl", "jsonl", type=click.Path(path_type=Path), default=None, help="Import this file instead.")
@click.option("--topic", default=None, help="--from-jsonl: topic of lines that name none [default: raw events].")
@click.pass_context
def archive(ctx: click.Context, root: Path, topic_names: str, jsonl: Path | None, topic: str | None) -> None:
    """Sink topics (or a JSON-lines export) to zstd Parquet under ROOT; resumable, prints a JSON summary."""
    from kairos.replay.topics import resolve_topics
    from streams.archive import ArchiveError, archive_topics, import_jsonl

    settings: Settings = ctx.obj
    bar = _progress("rec")
    try:
        if jsonl is not None:
            counts = import_jsonl(
                jsonl,
                root,
                default_topic=topic or settings.topics.raw_events,
                partitions=settings.topics.partitions,
                progress=bar.update,
            )
            _echo_json({"archive": str(root), "imported": counts})
            return
        result = archive_topics(settings.kafka, root, resolve_topics(settings.topics, topic_names), progress=bar.update)
    except (ArchiveError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
    _echo_json({"archive": str(root), "records": result.records, "resumed_from": result.resumed_from})


@cli.group(invoke_without_command=True)
@click.option("--source", default=None, help="An archive directory, or 'kafka' (production's raw topic, read only).")
@click.option("--from", "start", default=None, help="Offset (every partition) or ISO-8601 time (record timestamps).")
@click.option("--until", default=None, help="Exclusive upper bound, the same way.")
@click.option("--namespace", default=None, help="The replay's own namespace (topics, groups, state, online store).")
@click.option("--policy", default="1", show_default=True, help="rules, a served model_version, or a weights file.")
@click.option("--learn", is_flag=True, help="Also run the learner on the replay's decisions and rewards.")
@click.pass_context
def replay(
    ctx: click.Context,
    source: str | None,
    start: str | None,
    until: str | None,
    namespace: str | None,
    policy: str,
    learn: bool,
) -> None:
    """Replay a slice of the event log through the pipeline in an isolated namespace; prints a JSON report."""
    if ctx.invoked_subcommand is not None:
        return
    from kairos.replay.command import replay as run
    from kairos.replay.errors import ReplayError
    from streams.archive import ArchiveError

    if source is None or namespace is None:
        raise click.UsageError("kairos replay needs --source and --namespace (or a subcommand: diff, clean)")
    bar = _progress("ev")
    try:
        report = run(
            ctx.obj,
            source=source,
            namespace=namespace,
            policy=policy,
            start=start,
            until=until,
            learn=learn,
            progress=bar.update,
        )
    except (ArchiveError, ReplayError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
    _echo_json(report.to_json())


@replay.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, help="Also write an HTML page.")
@click.option("--examples", type=int, default=10, show_default=True)
@click.pass_context
def replay_diff(ctx: click.Context, a: str, b: str, html_path: Path | None, examples: int) -> None:
    """Compare B with A (each a namespace or an archive directory): tables, then one JSON line; --html: a page."""
    from kairos.replay.compare import compare
    from kairos.replay.render import render_html, render_text
    from kairos.replay.sides import load_side
    from streams.archive import ArchiveError

    settings: Settings = ctx.find_root().obj
    try:
        report = compare(load_side(settings, a), load_side(settings, b), examples=examples).to_json()
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(render_text(report))
    if html_path is not None:
        html_path.write_text(render_html(report))
        click.echo(f"wrote {html_path}", err=True)
    _echo_json(report)


@replay.command("clean")
@click.option("--namespace", required=True)
@click.pass_context
def replay_clean(ctx: click.Context, namespace: str) -> None:
    """Delete a replay's topics and state (never production's)."""
    from kairos.replay.driver import clean_namespace

    try:
        _echo_json(clean_namespace(ctx.find_root().obj, namespace))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group()
def schemas() -> None:
    """Wire contracts."""


@schemas.command("export")
@click.argument("directory", type=click.Path(path_type=Path), default=Path("schemas/jsonschema"))
def schemas_export(directory: Path) -> None:
    """Write the JSON Schema files publishers validate against."""
    from schemas.export import export_json_schemas

    for path in export_json_schemas(directory):
        click.echo(str(path))


@cli.command()
@click.option("--shoppers", type=int, default=300, show_default=True)
@click.option("--duration", type=float, default=600.0, show_default=True, help="Simulated seconds.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--speed", type=float, default=10.0, show_default=True, help="Sim seconds per wall second.")
@click.pass_context
def demo(ctx: click.Context, shoppers: int, duration: float, seed: int, speed: float) -> None:
    """Start the embedded stack (broker, topics, worker), run the simulator through the loop, report, stop."""
    from kairos.demo import run_demo

    result = run_demo(ctx.obj, shoppers=shoppers, duration_s=duration, seed=seed, speed=speed)
    _echo_json(result)
    click.echo(f"report: {result['report']}")
    if not result["ok"]:
        raise SystemExit(1)


@cli.command()
@click.option(
    "--seeds", type=int, default=5, show_default=True, help="Populations (seeds F..F+N-1), each for every arm."
)
@click.option("--first-seed", type=int, default=1, show_default=True, help="F: the first evaluated population.")
@click.option(
    "--history-seeds",
    type=int,
    default=3,
    show_default=True,
    help="Populations F+1000.. logged by the ε-greedy rules to warm-start the full arm.",
)
@click.option("--shoppers", type=int, default=None, help="Shoppers per population [default: 800; --quick 150].")
@click.option("--duration", type=float, default=None, help="Simulated seconds per run [default: 7200; --quick 1800].")
@click.option("--drift", is_flag=True, help="Shift preferences and prices at half the duration; report recovery times.")
@click.option(
    "--arms", default="none,rules,cf,bandit,linear,neural,full", show_default=True, help="Comma-separated arm names."
)
@click.option("--quick", is_flag=True, help="A small preset for tests and smoke runs.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="HTML report [default: <worker.data_dir>/reports/evaluate-<UTC time>.html].",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    seeds: int,
    first_seed: int,
    history_seeds: int,
    shoppers: int | None,
    duration: float | None,
    drift: bool,
    arms: str,
    quick: bool,
    report_path: Path | None,
) -> None:
    """Simulator evaluation of the arms: metrics with 95% intervals, ANOVA, chi-square, drift; an HTML report;
    last line JSON."""
    from kairos.evaluation.report import RunFigures, preset, render
    from kairos.evaluation.report import evaluate as run_evaluation
    from kairos.progress import progress
    from kairos.web.run_reports import write_evaluation_report

    try:
        config = preset(
            seeds=seeds,
            shoppers=shoppers,
            duration_s=duration,
            drift=drift,
            arms=tuple(arms.split(",")),
            quick=quick,
            first_seed=first_seed,
            history_seeds=history_seeds,
        )
    except (KeyError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc
    with progress("evaluate", total=len(config.seeds) * len(config.arms), unit="run") as bar:

        def on_run(run: RunFigures) -> None:
            line = f"{run.arm} seed {run.seed}: {run.wall_s:.1f} s"
            if bar.disable:
                click.echo(line, err=True)
            bar.set_postfix_str(line, refresh=False)
            bar.update(1)

        report = run_evaluation(config, settings=ctx.obj, progress=on_run)
    click.echo(render(report))
    result = report.to_json()
    path = report_path or _default_report(ctx.obj, "evaluate")
    click.echo(f"report: {write_evaluation_report(path, result)}", err=True)
    _echo_json(result)


def _default_report(settings: Settings, command: str) -> Path:
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.worker.data_dir) / "reports" / f"{command}-{stamp}.html"


def _add_plugin_commands(group: click.Group) -> None:
    """Add the command groups installed packages declare under the ``kairos.commands`` entry points (``kairos
    bench`` comes from bench/, which sits above kairos and is never imported by it)."""
    for entry in entry_points(group="kairos.commands"):
        group.add_command(entry.load(), entry.name)


_add_plugin_commands(cli)


def main() -> None:
    """Console-script entry point."""
    cli(auto_envvar_prefix=None)


if __name__ == "__main__":
    main()
