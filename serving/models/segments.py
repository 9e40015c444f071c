"""User segments: River's online k-means over scaled, log-compressed numeric user features."""

from __future__ import annotations

from river import cluster, compose, preprocessing

from serving.models.errors import ModelConfigError
from serving.models.inputs import SEGMENT_INPUTS, FeatureRow, dense_vector

__all__ = ["SegmentModel"]


class SegmentModel:
    """Assign users to one of ``n_clusters`` segments: ``StandardScaler | KMeans`` on :data:`SEGMENT_INPUTS`.

    Every input carries the same keys (missing features are 0.0), so centres never gain coordinates mid-stream.
    Memory is fixed: ``n_clusters`` centres plus the scaler's running moments. Segment ids are arbitrary labels and
    drift as centres move; downstream code should use them as categorical context, not as stable names.

    Args:
        n_clusters: number of segments.
        halflife: k-means centre step (River's ``halflife``; smaller is steadier).
        seed: seeds the centre initialisation.

    Raises:
        ModelConfigError: fewer than one cluster or a halflife outside (0, 1].

    >>> model = SegmentModel(n_clusters=2, seed=3)
    >>> for i in range(200):
    ...     model.learn_one({"purchase_count": 20 if i % 2 else 0, "monetary": 300.0 if i % 2 else 0.0})
    >>> model.predict_one({"purchase_count": 20, "monetary": 300.0}) != model.predict_one({"purchase_count": 0})
    True
    """

    def __init__(self, *, n_clusters: int = 4, halflife: float = 0.1, seed: int = 0) -> None:
        if n_clusters < 1 or not 0 < halflife <= 1:
            raise ModelConfigError(f"need n_clusters >= 1 and 0 < halflife <= 1, got {n_clusters=} {halflife=}")
        self.n_clusters = n_clusters
        self.model: compose.Pipeline = preprocessing.StandardScaler() | cluster.KMeans(
            n_clusters=n_clusters, halflife=halflife, seed=seed
        )
        self.learned = 0

    def learn_one(self, user_features: FeatureRow) -> None:
        """Move the scaler and the nearest centre towards one user's features (the row is not modified)."""
        self.model.learn_one(dense_vector(user_features, SEGMENT_INPUTS))
        self.learned += 1

    def predict_one(self, user_features: FeatureRow) -> int:
        """The segment id, in ``range(n_clusters)``, of the centre nearest to the user's scaled features."""
        return int(self.model.predict_one(dense_vector(user_features, SEGMENT_INPUTS)))

    def metrics(self) -> dict[str, float]:
        """``learned``: rows the segments were fitted on."""
        return {"learned": float(self.learned)}
