"""User segments: River's online k-means over scaled, log-compressed numeric user features, k-means++ seeded."""

from __future__ import annotations

import random
from typing import Any

from river import cluster, preprocessing

from serving.models.errors import ModelConfigError
from serving.models.inputs import SEGMENT_INPUTS, FeatureRow, dense_vector

__all__ = ["SegmentModel", "kmeans_plus_plus"]

Vector = dict[str, float]


def _sq_distance(a: Vector, b: Vector) -> float:
    return sum((a[k] - b.get(k, 0.0)) ** 2 for k in a)


def kmeans_plus_plus(points: list[Vector], k: int, rng: random.Random) -> list[Vector]:
    """Pick ``k`` starting centres from ``points`` by k-means++ (each next centre drawn ∝ squared distance).

    Args:
        points: candidate centres (not modified; the returned centres are copies).
        k: how many to pick; fewer distinct points give duplicates.
        rng: the seeded generator to draw from.

    Returns:
        ``k`` centres.

    >>> pts = [{"a": 0.0}, {"a": 0.1}, {"a": 10.0}]
    >>> sorted(c["a"] for c in kmeans_plus_plus(pts, 2, random.Random(0)))
    [0.1, 10.0]
    """
    centres = [dict(points[rng.randrange(len(points))])]
    while len(centres) < k:
        weights = [min(_sq_distance(p, c) for c in centres) for p in points]
        total = sum(weights)
        if total <= 0:
            centres.append(dict(centres[-1]))
            continue
        draw, acc = rng.random() * total, 0.0
        for point, weight in zip(points, weights, strict=True):
            acc += weight
            if acc >= draw and weight > 0:
                centres.append(dict(point))
                break
        else:
            centres.append(dict(points[-1]))
    return centres


class SegmentModel:
    """Assign users to one of ``n_clusters`` segments: ``StandardScaler`` then River's ``KMeans`` on
    :data:`~serving.models.inputs.SEGMENT_INPUTS`.

    River's ``KMeans`` starts its centres at random Gaussian points, which on skewed user data often leaves all
    users to one centre; so the first ``warmup`` rows are buffered and the centres start from them by seeded
    k-means++, after which every row moves its nearest centre online (``halflife``). Before the warm-up completes,
    :meth:`predict_one` returns 0. Every input carries the same keys (missing features are 0.0). Memory is fixed:
    ``n_clusters`` centres, the scaler's moments and (until warm) the buffer. Segment ids are arbitrary labels that
    can drift as centres move: use them as categorical context, not as stable names.

    Args:
        n_clusters: number of segments.
        halflife: k-means centre step (River's ``halflife``; smaller is steadier).
        warmup: rows buffered before the centres are initialised (at least ``n_clusters``).
        seed: seeds the k-means++ draw and River's centre generator.

    Raises:
        ModelConfigError: fewer than one cluster, a halflife outside (0, 1], or ``warmup < n_clusters``.

    >>> model = SegmentModel(n_clusters=2, seed=3)
    >>> for i in range(200):
    ...     model.learn_one({"purchase_count": 20 if i % 2 else 0, "monetary": 300.0 if i % 2 else 0.0})
    >>> model.predict_one({"purchase_count": 20, "monetary": 300.0}) != model.predict_one({"purchase_count": 0})
    True
    """

    def __init__(self, *, n_clusters: int = 4, halflife: float = 0.1, warmup: int = 64, seed: int = 0) -> None:
        if n_clusters < 1 or not 0 < halflife <= 1 or warmup < n_clusters:
            raise ModelConfigError(f"bad segment model: {n_clusters=} {halflife=} {warmup=}")
        self.n_clusters = n_clusters
        self.warmup = warmup
        self.scaler: Any = preprocessing.StandardScaler()  # River's untyped API, used through Any
        self.kmeans: Any = cluster.KMeans(n_clusters=n_clusters, halflife=halflife, seed=seed)
        self.learned = 0
        self._rng = random.Random(seed)
        self._buffer: list[Vector] | None = []

    def learn_one(self, user_features: FeatureRow) -> None:
        """Update the scaler and move the nearest centre towards one user's features (the row is not modified)."""
        x = dense_vector(user_features, SEGMENT_INPUTS)
        self.scaler.learn_one(x)
        self.learned += 1
        if self._buffer is None:
            self.kmeans.learn_one(self.scaler.transform_one(x))
            return
        self._buffer.append(x)
        if len(self._buffer) >= self.warmup:
            scaled = [self.scaler.transform_one(row) for row in self._buffer]
            for i, centre in enumerate(kmeans_plus_plus(scaled, self.n_clusters, self._rng)):
                self.kmeans.centers[i].update(centre)
            self._buffer = None
            for row in scaled:
                self.kmeans.learn_one(row)

    def predict_one(self, user_features: FeatureRow) -> int:
        """The segment id, in ``range(n_clusters)``, nearest to the user's scaled features (0 while warming up)."""
        if self._buffer is not None:
            return 0
        return int(self.kmeans.predict_one(self.scaler.transform_one(dense_vector(user_features, SEGMENT_INPUTS))))

    def metrics(self) -> dict[str, float]:
        """``learned``: rows the segments were fitted on."""
        return {"learned": float(self.learned)}
