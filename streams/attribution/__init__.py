"""Delayed-reward attribution: pure, event-time logic that joins outcomes back to the decisions that earned them.

The agent feeds one :class:`Attributor` per partition with decisions (``kairos.interventions.v1``) and events
(``kairos.events.v1``), calls :meth:`Attributor.advance` once per batch and publishes the rewards it returns to
``kairos.rewards.v1``. Rules, windows and defaults: ``docs/attribution.md``.
"""

from streams.attribution.attributor import Attributor
from streams.attribution.config import (
    COMPONENTS,
    DEFAULT_VISIT_EVENT_TYPES,
    Aggregation,
    AttributionConfig,
    ComponentRule,
    CreditRule,
    ValueClaim,
)
from streams.attribution.credit import claim, credit
from streams.attribution.errors import AttributionConfigError
from streams.attribution.ledger import PublishedLedger
from streams.attribution.outcomes import Outcome, OutcomeKind, PurchaseLine, attributable_net, outcomes_of
from streams.attribution.partition import AttributionPartition, Outputs, Rejection, SourceRecord, unattributed_error
from streams.attribution.results import (
    AttributionStats,
    Emission,
    Intake,
    Settled,
    Unattributed,
    UnattributedReason,
)
from streams.attribution.store import DecisionInfo, PendingDecision, PendingStore
from streams.attribution.tally import Tally

__all__ = [
    "COMPONENTS",
    "DEFAULT_VISIT_EVENT_TYPES",
    "Aggregation",
    "AttributionConfig",
    "AttributionConfigError",
    "AttributionPartition",
    "AttributionStats",
    "Attributor",
    "ComponentRule",
    "CreditRule",
    "DecisionInfo",
    "Emission",
    "Intake",
    "Outcome",
    "OutcomeKind",
    "Outputs",
    "PendingDecision",
    "PendingStore",
    "PublishedLedger",
    "PurchaseLine",
    "Rejection",
    "Settled",
    "SourceRecord",
    "Tally",
    "Unattributed",
    "UnattributedReason",
    "ValueClaim",
    "attributable_net",
    "claim",
    "credit",
    "outcomes_of",
    "unattributed_error",
]
