"""Snapshots of Prometheus samples and a bounded history of them: the data behind the live page and the reports.

A :class:`Snapshot` is every sample of a registry at one moment, read either from the registry itself (the worker's
live page: :func:`snapshot_of_registry`) or from ``/metrics`` text (a run watched from outside, such as the demo:
:func:`snapshot_of_text`); both give the same values, so the figures built from them are the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Metric
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["History", "Sample", "Snapshot", "snapshot_of_families", "snapshot_of_registry", "snapshot_of_text"]

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample: its labels (sorted pairs) and value."""

    labels: Labels
    value: float

    def label(self, name: str) -> str:
        """The value of label ``name`` (``""`` when absent).

        >>> Sample((("stage", "ingest"),), 1.0).label("stage")
        'ingest'
        """
        return next((v for k, v in self.labels if k == name), "")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every sample at ``at`` (seconds since the epoch), by sample name (``kairos_decisions_total``, ``…_bucket``)."""

    at: float
    samples: Mapping[str, tuple[Sample, ...]]
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Family name -> Prometheus type (counter, gauge, histogram, …)."""
    _memo: dict[tuple[str, tuple[str, ...], bool], dict[str, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def get(self, name: str) -> tuple[Sample, ...]:
        """The samples called ``name`` (empty when the metric has none yet)."""
        return self.samples.get(name, ())

    def total(self, name: str, **match: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``match``.

        >>> s = Snapshot(0.0, {"x_total": (Sample((("a", "1"),), 2.0), Sample((("a", "2"),), 3.0))})
        >>> s.total("x_total"), s.total("x_total", a="2"), s.total("missing")
        (5.0, 3.0, 0.0)
        """
        return sum((s.value for s in self.get(name) if all(s.label(k) == v for k, v in match.items())), 0.0)

    def grouped(self, name: str, by: tuple[str, ...], *, count: bool = False) -> dict[str, float]:
        """The samples called ``name`` summed (or counted) by the values of labels ``by``, joined by ``/``
        (``all`` when ``by`` is empty); computed once per snapshot, so a page redrawn over a long history only
        works on its newest snapshot. NaN samples (a gauge that is undefined, e.g. a ROC AUC over one class) are
        left out of both, so a mean is taken over the defined ones.

        >>> s = Snapshot(0.0, {"x_total": (Sample((("a", "1"),), 2.0), Sample((("a", "2"),), 3.0))})
        >>> s.grouped("x_total", ("a",)), s.grouped("x_total", ()), s.grouped("x_total", (), count=True)
        ({'1': 2.0, '2': 3.0}, {'all': 5.0}, {'all': 2.0})
        >>> s = Snapshot(0.0, {"auc": (Sample((), 0.75), Sample((), float("nan")))})
        >>> s.grouped("auc", ()), s.grouped("auc", (), count=True)
        ({'all': 0.75}, {'all': 1.0})
        """
        key = (name, by, count)
        out = self._memo.get(key)
        if out is None:
            out = {}
            for sample in self.get(name):
                if math.isnan(sample.value):
                    continue
                group = "/".join(sample.label(n) for n in by) or "all"
                out[group] = out.get(group, 0.0) + (1.0 if count else sample.value)
            self._memo[key] = out
        return out


def snapshot_of_families(families: Iterable[Metric], at: float) -> Snapshot:
    """A snapshot of collected metric families (``registry.collect()`` or parsed text)."""
    samples: dict[str, list[Sample]] = {}
    kinds: dict[str, str] = {}
    for family in families:
        kinds[family.name] = family.type
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, []).append(Sample(labels, float(sample.value)))
    return Snapshot(at, {name: tuple(rows) for name, rows in samples.items()}, kinds)


def snapshot_of_registry(registry: CollectorRegistry, at: float) -> Snapshot:
    """A snapshot of ``registry`` (the worker's own, read in process)."""
    return snapshot_of_families(registry.collect(), at)


def snapshot_of_text(text: str, at: float) -> Snapshot:
    """A snapshot of a ``/metrics`` page.

    >>> snap = snapshot_of_text('# TYPE k_decisions counter\\nk_decisions_total{source="triton"} 3.0\\n', 1.0)
    >>> snap.total("k_decisions_total", source="triton"), snap.kinds["k_decisions"]
    (3.0, 'counter')
    """
    return snapshot_of_families(text_string_to_metric_families(text), at)


class History:
    """The last snapshots, bounded: when full, every other one is dropped, so the history keeps covering the whole
    run at half the resolution (memory stays ``capacity`` snapshots, however long the run).

    >>> h = History(capacity=4)
    >>> for t in range(6):
    ...     h.add(Snapshot(float(t), {}))
    >>> [s.at for s in h.snapshots]
    [0.0, 2.0, 4.0, 5.0]
    """

    def __init__(self, capacity: int = 360) -> None:
        if capacity < 2:
            raise ValueError(f"a history needs room for at least two snapshots, got {capacity}")
        self._capacity = capacity
        self._snapshots: list[Snapshot] = []

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        """The snapshots, oldest first."""
        return tuple(self._snapshots)

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot, if any."""
        return self._snapshots[-1] if self._snapshots else None

    def add(self, snapshot: Snapshot) -> None:
        """Append ``snapshot`` (thinning the older ones when full)."""
        if len(self._snapshots) >= self._capacity:
            self._snapshots = self._snapshots[::2]
        self._snapshots.append(snapshot)
