"""Offer acceptance: biased matrix factorisation over (user, offered item) responses, read as a probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from river import optim, reco

from serving.models.errors import ModelConfigError
from serving.models.scoring import BinaryScore

__all__ = ["OFFER_PROBA_BOUNDS", "OfferAcceptanceModel"]

OFFER_PROBA_BOUNDS = (0.01, 0.99)
"""The linear-probability score is clipped to this range: never certain, so log loss stays bounded (< 4.61)."""


class OfferAcceptanceModel:
    """P(user accepts an offer of item), learned with River's ``BiasedMF`` on 0/1 responses.

    The factorisation regresses the 0/1 response with squared loss, so its score ``μ + b_u + b_i + ⟨p_u, q_i⟩`` is
    a linear-probability estimate; :meth:`predict_proba_one` clips it to :data:`OFFER_PROBA_BOUNDS` (no sigmoid: the
    score is already on the probability scale). Prediction never changes the model: an unseen user or item contributes a
    zero bias and a zero latent vector instead of being initialised, so serving traffic cannot grow the tables.
    Memory grows with the distinct users and items *learned from* (``n_factors + 1`` floats each).

    Args:
        n_factors: latent dimensions.
        learning_rate: SGD step for biases and latents.
        l2: L2 penalty on biases and latents.
        seed: seeds the latent initialisation (same seed and stream, same predictions).

    Raises:
        ModelConfigError: a non-positive size or rate.

    >>> model = OfferAcceptanceModel(seed=1)
    >>> for _ in range(50):
    ...     model.learn_one("u1", "shoes", accepted=True)
    ...     model.learn_one("u1", "hats", accepted=False)
    >>> model.predict_proba_one("u1", "shoes") > 0.5 > model.predict_proba_one("u1", "hats")
    True
    """

    def __init__(self, *, n_factors: int = 8, learning_rate: float = 0.1, l2: float = 1e-3, seed: int = 0) -> None:
        if n_factors < 1 or learning_rate <= 0 or l2 < 0:
            raise ModelConfigError(f"bad offer model: {n_factors=} {learning_rate=} {l2=}")
        self.seed = seed
        self.mf = reco.BiasedMF(
            n_factors=n_factors,
            bias_optimizer=optim.SGD(learning_rate),
            latent_optimizer=optim.SGD(learning_rate),
            loss=optim.losses.Squared(),
            l2_bias=l2,
            l2_latent=l2,
            latent_initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=seed),
            seed=seed,
        )
        self.score = BinaryScore()

    def _raw(self, user: str, item: str) -> float:
        mf = self.mf
        y = float(mf.global_mean.get()) + float(mf.u_biases.get(user, 0.0)) + float(mf.i_biases.get(item, 0.0))
        p_u, q_i = mf.u_latents.get(user), mf.i_latents.get(item)
        if p_u is not None and q_i is not None:
            y += float(np.dot(p_u, q_i))
        return y

    def predict_proba_one(self, user: str, item: str) -> float:
        """P(``user`` accepts an offer of ``item``), within :data:`OFFER_PROBA_BOUNDS` (0.5 before any data)."""
        if self.score.labels == 0:
            return 0.5
        low, high = OFFER_PROBA_BOUNDS
        return min(max(self._raw(user, item), low), high)

    def predict_proba_many(self, user: str, items: Sequence[str]) -> list[float]:
        """:meth:`predict_proba_one` for several items of one user: the same numbers, the user's terms read once.

        >>> model = OfferAcceptanceModel(seed=1)
        >>> model.learn_one("u1", "shoes", accepted=True)
        >>> many = model.predict_proba_many("u1", ["shoes", "hats"])
        >>> many == [model.predict_proba_one("u1", item) for item in ("shoes", "hats")]
        True
        """
        if self.score.labels == 0:
            return [0.5] * len(items)
        low, high = OFFER_PROBA_BOUNDS
        mf = self.mf
        base = float(mf.global_mean.get()) + float(mf.u_biases.get(user, 0.0))
        i_biases, i_latents, p_u = mf.i_biases, mf.i_latents, mf.u_latents.get(user)
        out: list[float] = []
        for item in items:
            y = base + float(i_biases.get(item, 0.0))
            if p_u is not None:
                q_i = i_latents.get(item)
                if q_i is not None:
                    y += float(np.dot(p_u, q_i))
            out.append(min(max(y, low), high))
        return out

    def learn_one(self, user: str, item: str, accepted: bool) -> None:
        """Learn one response; the progressive score sees the prediction made before learning."""
        self.score.update(accepted, self.predict_proba_one(user, item))
        self.mf.learn_one(user, item, 1.0 if accepted else 0.0)  # type: ignore[no-untyped-call]

    def metrics(self) -> dict[str, float]:
        """Progressive ``roc_auc`` and ``log_loss``, ``labels``, and the ``users`` and ``items`` learned."""
        return {
            **self.score.as_dict(),
            "users": float(len(self.mf.u_biases)),
            "items": float(len(self.mf.i_biases)),
        }
