"""The guardrails' figures over a history of snapshots: decisions blocked, changed or masked per rule, and the
fairness rule's per-group discount-offer rates and parity gap against ``decide.fairness_max_gap``.

They read what the decision stage exports (``agents/decide.py``): ``kairos_guardrails_total{rule, effect}`` per
published decision, and the fairness monitor's window counts per partition and group with its settings
(``kairos_fairness_*``). When the rule is off, or on without a group lookup, the figures say so instead of drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kairos.web.figure import Figure, bars, lines
from kairos.web.snapshot import Snapshot

__all__ = ["FairnessView", "fairness_view", "guardrail_figures"]

_GUARDRAILS = "kairos_guardrails_total"
_DECISIONS = "kairos_fairness_window_decisions"
_DISCOUNTS = "kairos_fairness_window_discounts"
_GAP = "kairos_fairness_parity_gap"
_SETTING = "kairos_fairness_setting"
_EFFECTS = ("blocked", "changed", "masked")
_COLOURS = {"blocked": "#d62728", "changed": "#ff7f0e", "masked": "#9aa5b1"}
_TIME_AXIS: dict[str, Any] = {"xaxis": {"type": "date"}}


@dataclass(frozen=True, slots=True)
class FairnessView:
    """The fairness rule as one snapshot shows it.

    Attributes:
        state: ``unknown`` (no decision stage yet), ``off`` (no attribute), ``no_lookup`` (an attribute but no group
            lookup: no decision carries a group), ``waiting`` (on, no group counted yet) or ``on``.
        attribute: the protected attribute ('' when off or unknown).
        max_gap: ``decide.fairness_max_gap`` (``None`` when unknown).
        min_decisions: decisions a group needs in a partition's window to be compared.
        rates: per group, ``(decisions, discount offers, rate)`` summed over partitions.
        gap: the largest parity gap of any partition (the rule is enforced per partition).
        summary: one sentence saying all of it, for the page.
    """

    state: str
    attribute: str
    max_gap: float | None
    min_decisions: float | None
    rates: dict[str, tuple[float, float, float]]
    gap: float | None
    summary: str


def fairness_view(snap: Snapshot) -> FairnessView:
    """What ``snap`` says about the fairness rule (see :class:`FairnessView`).

    >>> from kairos.web.snapshot import Sample
    >>> off = Snapshot(0.0, {"kairos_fairness_setting": (Sample((("attribute", ""), ("setting", "max_gap")), 0.05),)})
    >>> fairness_view(off).state
    'off'
    """
    settings = {s.label("setting"): s for s in snap.get(_SETTING)}
    if not settings:
        return FairnessView("unknown", "", None, None, {}, None, "No decision stage has started in this worker yet.")
    attribute = next(iter(settings.values())).label("attribute")
    max_gap = settings["max_gap"].value if "max_gap" in settings else None
    least = settings["min_decisions"].value if "min_decisions" in settings else None
    if not attribute:
        return FairnessView(
            "off",
            "",
            max_gap,
            least,
            {},
            None,
            "Fairness parity is off: no protected attribute is configured (decide.fairness_attribute is empty), "
            "so no group rates are counted and no discount is masked for parity.",
        )
    lookup = settings.get("group_lookup")
    if lookup is not None and lookup.value == 0:
        return FairnessView(
            "no_lookup",
            attribute,
            max_gap,
            least,
            {},
            None,
            f"Attribute {attribute!r} is configured, but this worker has no group lookup for it: no decision "
            "carries a group, so nothing is counted and no discount is masked for parity.",
        )
    decisions = snap.grouped(_DECISIONS, ("group",))
    offers = snap.grouped(_DISCOUNTS, ("group",))
    rates = {g: (n, offers.get(g, 0.0), offers.get(g, 0.0) / n) for g, n in sorted(decisions.items()) if n > 0}
    gaps = snap.get(_GAP)
    gap = max((s.value for s in gaps), default=None)
    if not rates:
        return FairnessView(
            "waiting", attribute, max_gap, least, {}, gap, f"Attribute {attribute!r}: no group counted yet."
        )
    within = "unknown" if gap is None or max_gap is None else ("within" if gap <= max_gap else "ABOVE")
    summary = (
        f"Discount offers per decision by {attribute!r} group, all partitions, over the monitor's window. Largest "
        f"partition gap {_num(gap)} vs max gap {_num(max_gap)}: {within}. The rule is enforced per partition, "
        f"between groups with at least {_num(least)} decisions there; it masks discounts for a group above the gap."
    )
    return FairnessView("on", attribute, max_gap, least, rates, gap, summary)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _effect_series(history: Sequence[Snapshot]) -> dict[str, list[tuple[float, float | None]]]:
    """Cumulative decisions changed or blocked, per ``rule (effect)``, at every snapshot."""
    out: dict[str, list[tuple[float, float | None]]] = {}
    for snap in history:
        for key, value in sorted(snap.grouped(_GUARDRAILS, ("rule", "effect")).items()):
            rule, _, effect = key.rpartition("/")
            if effect in ("changed", "blocked"):
                out.setdefault(f"{rule} ({effect})", []).append((snap.at, value))
    return out


def _gap_series(history: Sequence[Snapshot]) -> dict[str, list[tuple[float, float | None]]]:
    out: dict[str, list[tuple[float, float | None]]] = {}
    for snap in history:
        for s in sorted(snap.get(_GAP), key=lambda s: int(s.label("partition") or 0)):
            out.setdefault(f"partition {s.label('partition')}", []).append((snap.at, s.value))
        limit = next((s.value for s in snap.get(_SETTING) if s.label("setting") == "max_gap"), None)
        if out and limit is not None:
            out.setdefault("max gap", []).append((snap.at, limit))
    return out


def guardrail_figures(history: Sequence[Snapshot]) -> list[Figure]:
    """Guardrails applied (by rule and effect, and changed/blocked over time) and fairness parity, in page order."""
    snap = history[-1] if history else Snapshot(0.0, {})
    found = _by_effect(snap)
    order = [e for e in _EFFECTS if e in found] + sorted(found.keys() - set(_EFFECTS))
    by_effect = {e: dict(sorted(found[e].items())) for e in order}
    view = fairness_view(snap)
    empty_fairness = "fairness parity off" if view.state in ("off", "no_lookup") else "no data yet"
    return [
        Figure(
            "guardrails_by_rule",
            "Guardrails applied: decisions by rule and effect",
            [
                {**t, "marker": {"color": _COLOURS.get(e, "#1f77b4")}}
                for e, t in zip(order, bars(by_effect, horizontal=True), strict=True)
            ],
            {
                "barmode": "stack",
                "yaxis": {"type": "category"},
                "legend": {"orientation": "h", "y": -0.25, "traceorder": "normal"},
            },
            "blocked: only none was left; changed: the rule masked the candidate the policy scored highest; "
            "masked: other candidates only (a decision counts once per rule that masked any of its candidates)",
        ),
        Figure(
            "guardrails_over_time",
            "Guardrails: decisions changed or blocked, by rule (cumulative)",
            lines(_effect_series(history)),
            _TIME_AXIS,
            "published decisions since the worker started",
        ),
        Figure(
            "fairness_rates",
            "Fairness parity: discount-offer rate by group",
            bars({"offers per decision": {g: r for g, (_, _, r) in view.rates.items()}}),
            {"xaxis": {"type": "category"}, "showlegend": False},
            view.summary,
            empty_fairness,
        ),
        Figure(
            "fairness_gap",
            "Fairness parity: gap between groups vs the allowed gap",
            lines(_gap_series(history), step=True),
            _TIME_AXIS,
            "highest minus lowest rate among a partition's groups with enough decisions; max gap: "
            "decide.fairness_max_gap",
            empty_fairness,
        ),
    ]


def _by_effect(snap: Snapshot) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, value in snap.grouped(_GUARDRAILS, ("effect", "rule")).items():
        effect, _, rule = key.partition("/")
        out.setdefault(effect, {})[rule] = value
    return out
