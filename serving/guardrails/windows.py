"""Immutable event-time windows of bucketed sums: the global discount budget and the fairness monitor's counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from serving.guardrails.errors import GuardrailConfigError

__all__ = ["BucketWindow", "bucket_of"]


def bucket_of(t_s: float, bucket_s: float) -> int:
    """The bucket holding event time ``t_s``.

    >>> bucket_of(119.9, 60.0), bucket_of(120.0, 60.0), bucket_of(-1.0, 60.0)
    (1, 2, -1)
    """
    return math.floor(t_s / bucket_s)


def _plus(total: Mapping[str, float], values: Mapping[str, float], sign: float = 1.0) -> dict[str, float]:
    out = dict(total)
    for name, value in values.items():
        out[name] = out.get(name, 0.0) + sign * value
    return out


@dataclass(frozen=True, slots=True)
class BucketWindow:
    """Sums of named values per time bucket over the last ``n_buckets`` buckets; every update returns a new window.

    A value added at ``t`` lands in ``bucket_of(t)``. ``totals(now)`` sums the buckets ``(b - n_buckets, b]`` of
    ``b = bucket_of(now)``, so the window slides by whole buckets (at most one bucket wider than
    ``n_buckets * bucket_s``). Only the buckets within the window of the newest bucket seen are kept (bounded
    memory), with their running sum, so an update and a read at the newest bucket cost O(names), not O(buckets).
    An update older than the kept window is ignored; late updates within it count. Never mutate the fields.

    Args:
        bucket_s: bucket width, event-time seconds.
        n_buckets: buckets in the window.

    >>> w = BucketWindow(60.0, 2).add(0.0, {"spent": 5.0}).add(70.0, {"spent": 2.0})
    >>> w.totals(70.0), w.totals(130.0), w.totals(200.0)
    ({'spent': 7.0}, {'spent': 2.0}, {})
    """

    bucket_s: float
    n_buckets: int
    buckets: tuple[tuple[int, Mapping[str, float]], ...] = ()
    sums: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.bucket_s > 0 or self.n_buckets < 1:
            raise GuardrailConfigError(f"bad window: {self.bucket_s=} {self.n_buckets=}")

    def add(self, t_s: float, values: Mapping[str, float]) -> BucketWindow:
        """A new window with ``values`` added at event time ``t_s``."""
        b = bucket_of(t_s, self.bucket_s)
        buckets, sums = self.buckets, self.sums
        newest = buckets[-1][0] if buckets else b
        if b < newest - self.n_buckets + 1:
            return self
        if b > newest:
            oldest = b - self.n_buckets + 1
            for bucket, expired in buckets:
                if bucket >= oldest:
                    break
                sums = _plus(sums, expired, -1.0)
            kept = tuple(item for item in buckets if item[0] >= oldest)
            return BucketWindow(self.bucket_s, self.n_buckets, (*kept, (b, dict(values))), _plus(sums, values))
        index = next((i for i in range(len(buckets) - 1, -1, -1) if buckets[i][0] <= b), -1)
        if index >= 0 and buckets[index][0] == b:
            updated = (*buckets[:index], (b, _plus(buckets[index][1], values)), *buckets[index + 1 :])
        else:
            updated = (*buckets[: index + 1], (b, dict(values)), *buckets[index + 1 :])
        return BucketWindow(self.bucket_s, self.n_buckets, updated, _plus(sums, values))

    def totals(self, now_s: float) -> dict[str, float]:
        """Sums per name over the window ending at ``now_s`` (names never added in it are absent)."""
        b = bucket_of(now_s, self.bucket_s)
        if not self.buckets:
            return {}
        if self.buckets[-1][0] <= b and self.buckets[0][0] > b - self.n_buckets:
            return dict(self.sums)  # every kept bucket is in the window: the running sum
        out: dict[str, float] = {}
        for bucket, values in self.buckets:
            if b - self.n_buckets < bucket <= b:
                out = _plus(out, values)
        return out
