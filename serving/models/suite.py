"""ModelSuite: the four River models behind one ``observe(event, session_row, user_row)`` entry point."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import (
    AddToCart,
    Event,
    InterventionClick,
    InterventionDismiss,
    InterventionImpression,
    Purchase,
    SessionEnd,
)
from serving.models.errors import ModelConfigError
from serving.models.inputs import FeatureRow
from serving.models.ledger import ImpressionLedger, OfferOutcome, OpenImpression
from serving.models.offers import OfferAcceptanceModel
from serving.models.segments import SegmentModel
from serving.models.session_outcome import AbandonmentModel, PurchasePropensityModel

__all__ = ["ModelSuite", "offer_item"]


def offer_item(product_id: str | None, intervention_type: str | None) -> str:
    """The item an offer is about: its product, else its intervention type.

    >>> offer_item("p1", "discount"), offer_item(None, "discount"), offer_item(None, None)
    ('p1', 'type:discount', 'type:unknown')
    """
    if product_id is not None:
        return product_id
    return f"type:{intervention_type or 'unknown'}"


@dataclass(frozen=True, slots=True)
class SessionScores:
    """What the suite answered for an event's session: ``None`` where a model did not score it."""

    abandonment: float | None = None
    purchase_propensity: float | None = None


class ModelSuite:
    """Owns the abandonment, propensity, offer-acceptance and segment models and routes events to them.

    Per event, in order: offer feedback (impression opens, click/dismiss resolve, add-to-cart or purchase of an
    offered product accepts, session end declines what is still open); then the session outcome: the session's first
    purchase labels it ``purchased``, a ``session_end`` of an unlabelled session labels it not purchased, and any
    other event of an open session scores it (which stores the snapshot the label will be learned from). A session's
    first scored event also fits the segments on its user row. Events of a session after its first purchase only
    feed offer feedback. Models are public attributes for serving to query; checkpoint with ``pickle.dumps(suite)``.

    Args:
        seed: seeds the offer and segment models.
        max_sessions: most sessions whose state (seen / purchased) is remembered; least recent evicted.
        abandonment: the abandonment model (default :class:`AbandonmentModel()`).
        propensity: the propensity model (default :class:`PurchasePropensityModel()`).
        offers: the offer model (default ``OfferAcceptanceModel(seed=seed)``).
        segments: the segment model (default ``SegmentModel(seed=seed)``).
        ledger: the open-impression ledger (default :class:`ImpressionLedger()`).

    Raises:
        ModelConfigError: ``max_sessions`` is not positive.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        max_sessions: int = 100_000,
        abandonment: AbandonmentModel | None = None,
        propensity: PurchasePropensityModel | None = None,
        offers: OfferAcceptanceModel | None = None,
        segments: SegmentModel | None = None,
        ledger: ImpressionLedger | None = None,
    ) -> None:
        if max_sessions < 1:
            raise ModelConfigError(f"max_sessions must be >= 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self.abandonment = abandonment or AbandonmentModel()
        self.propensity = propensity or PurchasePropensityModel()
        self.offers = offers or OfferAcceptanceModel(seed=seed)
        self.segments = segments or SegmentModel(seed=seed)
        self.ledger = ledger or ImpressionLedger()
        self.events = 0
        self._purchased: OrderedDict[str, bool] = OrderedDict()

    def observe(self, event: Event, session_row: FeatureRow | None, user_row: FeatureRow | None) -> SessionScores:
        """Update every model an event concerns.

        Args:
            event: a validated event, in event-time order per session.
            session_row: the session's feature row as of this event (``None`` when none yet).
            user_row: the user's feature row as of this event (``None`` when none yet).

        Returns:
            The abandonment and propensity scores the event's session got (the same predictions the delayed labels
            will be learned against; ``None`` for a session already labelled).
        """
        self.events += 1
        sid, t = event.session_id, event.event_time
        if isinstance(event, InterventionImpression):
            user = event.partition_key
            item = offer_item(event.product_id, event.intervention_type)
            impression = OpenImpression(user, item, sid, event.product_id, t)
            self._learn_offers(self.ledger.open(event.decision_id, impression))
        elif isinstance(event, InterventionClick | InterventionDismiss):
            outcome = self.ledger.resolve(event.decision_id, accepted=isinstance(event, InterventionClick))
            self._learn_offers(() if outcome is None else (outcome,))
        elif isinstance(event, AddToCart):
            self._learn_offers(self.ledger.resolve_product(sid, event.product_id))
        elif isinstance(event, Purchase):
            for line in event.items:
                self._learn_offers(self.ledger.resolve_product(sid, line.product_id))
        elif isinstance(event, SessionEnd):
            self._learn_offers(self.ledger.close_session(sid))

        if isinstance(event, Purchase):
            self._end_session(sid, purchased=True)
        elif isinstance(event, SessionEnd):
            self._end_session(sid, purchased=False)
            self._purchased.pop(sid, None)
        elif not self._purchased.get(sid, False):
            if sid not in self._purchased:
                self._remember(sid, purchased=False)
                if user_row is not None:
                    self.segments.learn_one(user_row)
            features = {**user_row, **session_row} if user_row and session_row else (session_row or user_row or {})
            return SessionScores(
                self.abandonment.predict_proba_one(sid, features, t),
                self.propensity.predict_proba_one(sid, user_row or {}, t),
            )
        return SessionScores()

    def metrics(self) -> dict[str, float]:
        """Every model's metrics flattened, e.g. ``abandonment_roc_auc``, ``offer_acceptance_log_loss``."""
        flat: dict[str, float] = {"events": float(self.events), "sessions_tracked": float(len(self._purchased))}
        for prefix, values in (
            ("abandonment", self.abandonment.metrics()),
            ("propensity", self.propensity.metrics()),
            ("offer_acceptance", self.offers.metrics()),
            ("segments", self.segments.metrics()),
        ):
            flat.update({f"{prefix}_{name}": value for name, value in values.items()})
        flat["offer_acceptance_open"] = float(len(self.ledger))
        flat["offer_acceptance_expired"] = float(self.ledger.expired)
        return flat

    def _end_session(self, sid: str, purchased: bool) -> None:
        if self._purchased.get(sid, False):
            return
        self.abandonment.label(sid, purchased)
        self.propensity.label(sid, purchased)
        if purchased:
            self._remember(sid, purchased=True)

    def _remember(self, sid: str, purchased: bool) -> None:
        self._purchased[sid] = purchased
        self._purchased.move_to_end(sid)
        while len(self._purchased) > self.max_sessions:
            self._purchased.popitem(last=False)

    def _learn_offers(self, outcomes: Iterable[OfferOutcome]) -> None:
        for outcome in outcomes:
            self.offers.learn_one(outcome.user, outcome.item, outcome.accepted)
