"""ModelSuite: the four River models behind ``learn_one(event, session_row, user_row)`` and ``predict_one``."""

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
    other event of an open session stores its rows as the snapshot the label will be learned from (by reference,
    unscored: scoring every event would cost a vectorisation and a prediction per event). A session's first such
    event also fits the segments on its user row. Events of a session after its first purchase only feed offer
    feedback. A decision asks for the session's scores with :meth:`predict_one`; those answers are the served
    probabilities the labels are scored against, and a label nobody asked about is scored with the model's
    probability just before it learns the label (the rule is in
    :class:`~serving.models.delayed.DelayedLabelClassifier`). Models are public attributes for serving to query;
    checkpoint with ``pickle.dumps(suite)``.

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

    def learn_one(self, event: Event, session_row: FeatureRow | None, user_row: FeatureRow | None) -> None:
        """Update every model an event concerns; nothing is scored here (see :meth:`predict_one`).

        Args:
            event: a validated event, in event-time order per session.
            session_row: the session's feature row as of this event (``None`` when none yet); kept by reference
                as the pending snapshot, so it must not be modified afterwards.
            user_row: the user's feature row as of this event (``None`` when none yet); likewise.
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
            self.abandonment.observe_one(sid, t, *_session_inputs(session_row, user_row))
            self.propensity.observe_one(sid, t, *_user_inputs(user_row))

    def predict_one(
        self, session_id: str, session_row: FeatureRow | None, user_row: FeatureRow | None
    ) -> SessionScores:
        """The abandonment and propensity scores of a session, asked for right after :meth:`learn_one` of its event.

        Only an open session is scored (observed, not yet labelled): ``SessionScores()`` for a session that ended
        or already purchased. Called with the rows :meth:`learn_one` got (the same objects), the answers become the
        served probabilities its labels are scored against (see
        :class:`~serving.models.delayed.DelayedLabelClassifier`); scoring changes no model.

        Args:
            session_id: the session.
            session_row: the session's row as passed to :meth:`learn_one`.
            user_row: the user's row as passed to :meth:`learn_one`.

        Returns:
            The scores; ``None`` where the session is not open.
        """
        if self._purchased.get(session_id, True):
            return SessionScores()
        return SessionScores(
            self.abandonment.predict_pending_one(session_id, *_session_inputs(session_row, user_row)),
            self.propensity.predict_pending_one(session_id, *_user_inputs(user_row)),
        )

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


def _session_inputs(session_row: FeatureRow | None, user_row: FeatureRow | None) -> tuple[FeatureRow, ...]:
    """The abandonment model's rows: user then session (session keys win), empty rows left out."""
    return tuple(row for row in (user_row, session_row) if row)


def _user_inputs(user_row: FeatureRow | None) -> tuple[FeatureRow, ...]:
    """The propensity model's rows: the user's, if it has one."""
    return (user_row,) if user_row else ()
