"""The figures of the worker's Prometheus metrics over a :class:`~kairos.web.snapshot.History`: what the live page
shows and what the demo's report shows for its run.

Rates come from differences of counters between consecutive snapshots (a counter that went down, i.e. a restart,
counts as 0 for that step); bars show the newest snapshot. Only what the registry has is drawn: a metric that does
not exist yet is an empty plot ("no data yet"), and every sample is also listed in :func:`metric_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from kairos.web.figure import Figure, Table, bars, lines
from kairos.web.guardrail_figures import guardrail_figures
from kairos.web.snapshot import History, Sample, Snapshot

__all__ = ["histogram_quantile", "metric_figures", "metric_tables", "rates"]

By = tuple[str, ...]
"""Label names a figure groups samples by."""


def rates(history: Sequence[Snapshot], name: str, by: By) -> dict[str, list[tuple[float, float | None]]]:
    """Per-second increase of counter ``name`` between consecutive snapshots, summed by labels ``by``.

    >>> from kairos.web.snapshot import Sample, Snapshot
    >>> a = Snapshot(0.0, {"c_total": (Sample((("o", "v"),), 10.0),)})
    >>> b = Snapshot(2.0, {"c_total": (Sample((("o", "v"),), 30.0),)})
    >>> rates([a, b], "c_total", ("o",))
    {'v': [(2.0, 10.0)]}
    """
    out: dict[str, list[tuple[float, float | None]]] = {}
    for before, after in pairwise(history):
        dt = after.at - before.at
        if dt <= 0:
            continue
        old, new = before.grouped(name, by), after.grouped(name, by)
        for series in sorted(new.keys() | old.keys()):
            out.setdefault(series, []).append((after.at, max(0.0, new.get(series, 0.0) - old.get(series, 0.0)) / dt))
    return out


def _levels(history: Sequence[Snapshot], name: str, by: By) -> dict[str, list[tuple[float, float | None]]]:
    out: dict[str, list[tuple[float, float | None]]] = {}
    for snap in history:
        for series, value in sorted(snap.grouped(name, by).items()):
            out.setdefault(series, []).append((snap.at, value))
    return out


def _buckets(snap: Snapshot, name: str) -> list[tuple[float, float]]:
    """``(upper bound, cumulative count)`` of histogram ``name`` summed over its label sets, by bound."""
    return sorted((float(le), n) for le, n in snap.grouped(f"{name}_bucket", ("le",)).items())


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile``: linear within the bucket the rank falls in (``None`` when empty).

    >>> round(histogram_quantile(0.5, [(0.1, 0.0), (0.2, 10.0), (float("inf"), 10.0)]) or 0.0, 6)
    0.15
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    low, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return low
            return low + (bound - low) * ((rank - below) / (count - below) if count > below else 0.0)
        low, below = bound, count
    return low


def _histogram(snap: Snapshot, name: str, key: str, title: str, unit_ms: bool = True) -> Figure:
    buckets = _buckets(snap, name)
    scale = 1000.0 if unit_ms else 1.0
    labels, counts, below = [], [], 0.0
    for bound, count in buckets:
        labels.append("+Inf" if bound == float("inf") else f"≤ {bound * scale:g}")
        counts.append(count - below)
        below = count
    p50, p99 = histogram_quantile(0.5, buckets), histogram_quantile(0.99, buckets)
    unit = "ms" if unit_ms else "s"
    note = (
        f"p50 ≈ {p50 * scale:.3g} {unit}, p99 ≈ {p99 * scale:.3g} {unit} (interpolated in buckets)"
        if p50 is not None and p99 is not None
        else "no observations yet"
    )
    data = [{"type": "bar", "name": "count", "x": labels, "y": counts}] if buckets else []
    return Figure(key, title, data, {"xaxis": {"title": {"text": unit}, "type": "category"}}, note)


_RIVER_SCORES = ("roc_auc", "log_loss")


def _river(snap: Snapshot, history: Sequence[Snapshot]) -> list[Figure]:
    """Progressive ROC AUC and log loss per River model (newest, per partition) and ROC AUC over time."""
    figures = []
    samples = snap.get("kairos_model_metric")
    for score in _RIVER_SCORES:
        chosen = [s for s in samples if s.label("metric").endswith(f"_{score}")]
        per_partition: dict[str, dict[str, float]] = {}
        for s in sorted(chosen, key=lambda s: (int(s.label("partition") or 0), s.label("metric"))):
            model = s.label("metric").removesuffix(f"_{score}")
            per_partition.setdefault(f"partition {s.label('partition')}", {})[model] = s.value
        figures.append(
            Figure(
                f"river_{score}",
                f"River models: progressive {score.replace('_', ' ')}",
                bars(per_partition),
                {"barmode": "group"},
                "test-then-train on every labelled event, per user partition",
            )
        )
    over_time: dict[str, list[tuple[float, float | None]]] = {}
    for past in history:
        sums = past.grouped("kairos_model_metric", ("metric",))
        counts = past.grouped("kairos_model_metric", ("metric",), count=True)
        for metric in sorted(sums):
            if metric.endswith("_roc_auc"):
                model = metric.removesuffix("_roc_auc")
                over_time.setdefault(model, []).append((past.at, sums[metric] / counts[metric]))
    figures.append(
        Figure("river_auc_over_time", "River models: ROC AUC over time", lines(over_time), note="mean over partitions")
    )
    return figures


def _rewards_by_version(history: Sequence[Snapshot]) -> dict[str, dict[str, float]]:
    """Reward records published between two snapshots, credited to the policy version decide served at the first."""
    out: dict[str, dict[str, float]] = {}
    for before, after in pairwise(history):
        version = before.total("kairos_policy_model_version", role="decide")
        name = f"v{version:g}" if before.get("kairos_policy_model_version") else "unknown"
        old = before.grouped("kairos_rewards_total", ("component",))
        new = after.grouped("kairos_rewards_total", ("component",))
        for component, n in new.items():
            gained = max(0.0, n - old.get(component, 0.0))
            row = out.setdefault(component, {})
            row[name] = row.get(name, 0.0) + gained
    return out


def metric_figures(history: History | Sequence[Snapshot]) -> list[Figure]:
    """The figures of the worker's metrics, in page order (see the module docstring)."""
    snaps = history.snapshots if isinstance(history, History) else tuple(history)
    snap = snaps[-1] if snaps else Snapshot(0.0, {})
    time_axis: dict[str, Any] = {"xaxis": {"type": "date"}}
    figures = [
        Figure(
            "events_per_s",
            "Ingest: records per second by outcome",
            lines(rates(snaps, "kairos_ingest_records_total", ("outcome",))),
            time_axis,
        ),
        Figure(
            "dead_letters",
            "Dead letters by stage and reason",
            bars({"dead letters": snap.grouped("kairos_dead_letters_total", ("stage", "reason"))}, horizontal=True),
            {"yaxis": {"type": "category"}, "showlegend": False},
        ),
        Figure(
            "decisions",
            "Decisions by action and policy source",
            bars(_nested(snap.get("kairos_decisions_total"), "source", "action")),
            {"barmode": "group", "xaxis": {"type": "category"}},
            "source rules: the exploring rules before the first learned release; triton: the served policy; "
            "fallback: rules when Triton was slow or down",
        ),
        Figure(
            "decisions_per_s",
            "Decisions per second by policy source",
            lines(rates(snaps, "kairos_decisions_total", ("source",))),
            time_axis,
        ),
        *guardrail_figures(snaps),
        _histogram(snap, "kairos_decision_batch_seconds", "decision_latency", "Decision batch latency"),
        _histogram(snap, "kairos_ingest_event_age_seconds", "event_age", "Freshness: event age at ingest", False),
        Figure(
            "consumer_lag",
            "Freshness: consumer lag by stage (records behind)",
            lines(_levels(snaps, "kairos_consumer_lag", ("stage",))),
            time_axis,
        ),
        Figure(
            "policy_version",
            "Model freshness: policy model version by role",
            lines(_levels(snaps, "kairos_policy_model_version", ("role",)), step=True),
            time_axis,
            "decide: the version this worker serves; learn: the last one promoted",
        ),
        *_river(snap, snaps),
        Figure(
            "rewards_per_s",
            "Rewards per second by component",
            lines(rates(snaps, "kairos_rewards_total", ("component",))),
            time_axis,
        ),
        Figure(
            "rewards_by_version",
            "Rewards by policy version served",
            bars(_rewards_by_version(snaps)),
            {"barmode": "stack", "xaxis": {"type": "category"}},
            "reward records published while each version was the one decide served (within this page's history)",
        ),
        Figure(
            "gate",
            "Learner: promotion-gate verdicts and joined rounds",
            bars(
                {
                    "gate verdicts": snap.grouped("kairos_learn_proposals_total", ("verdict",)),
                    "rounds": snap.grouped("kairos_learn_rounds_total", ("use",)),
                }
            ),
            {"xaxis": {"type": "category"}},
        ),
        Figure(
            "concierge",
            "Concierge texts by source and kind",
            bars(_nested(snap.get("kairos_concierge_messages_total"), "kind", "source")),
            {"barmode": "group", "xaxis": {"type": "category"}},
        ),
    ]
    return figures


def _nested(samples: Sequence[Sample], series: str, category: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in sorted(samples, key=lambda s: (s.label(series), s.label(category))):
        row = out.setdefault(s.label(series), {})
        row[s.label(category)] = row.get(s.label(category), 0.0) + s.value
    return out


def metric_tables(snap: Snapshot | None) -> list[Table]:
    """Every sample of ``snap`` but histogram buckets and ``_created`` stamps: name, labels, value."""
    rows: list[tuple[str, str, float]] = []
    if snap is not None:
        for name in sorted(snap.samples):
            if name.endswith(("_bucket", "_created")):
                continue
            for s in snap.get(name):
                rows.append((name, ", ".join(f"{k}={v}" for k, v in s.labels), s.value))
    return [Table("samples", "Every sample the worker exports", ("metric", "labels", "value"), rows)]
