"""River incremental models as pure objects: session outcomes, offer acceptance, user segments, and their suite.

Every model is synchronous and deterministic (time is a parameter, randomness is seeded), keeps River's verbs
(``learn_one``, ``predict_one``, ``predict_proba_one``), bounds its memory, and pickles. See docs/models.md.
"""

from serving.models.delayed import DelayedLabelClassifier, Snapshot
from serving.models.errors import ModelConfigError, ModelError
from serving.models.inputs import (
    SEGMENT_INPUTS,
    SESSION_INPUTS,
    USER_INPUTS,
    FeatureRow,
    dense_vector,
    signed_log1p,
    to_vector,
)
from serving.models.ledger import ImpressionLedger, OfferOutcome, OpenImpression
from serving.models.offers import OFFER_PROBA_BOUNDS, OfferAcceptanceModel
from serving.models.scoring import PROBA_EPSILON, BinaryScore, clip_proba
from serving.models.segments import SegmentModel
from serving.models.session_outcome import AbandonmentModel, PurchasePropensityModel
from serving.models.suite import ModelSuite, SessionScores, offer_item

__all__ = [
    "OFFER_PROBA_BOUNDS",
    "PROBA_EPSILON",
    "SEGMENT_INPUTS",
    "SESSION_INPUTS",
    "USER_INPUTS",
    "AbandonmentModel",
    "BinaryScore",
    "DelayedLabelClassifier",
    "FeatureRow",
    "ImpressionLedger",
    "ModelConfigError",
    "ModelError",
    "ModelSuite",
    "OfferAcceptanceModel",
    "OfferOutcome",
    "OpenImpression",
    "PurchasePropensityModel",
    "SegmentModel",
    "SessionScores",
    "Snapshot",
    "clip_proba",
    "dense_vector",
    "offer_item",
    "signed_log1p",
    "to_vector",
]
