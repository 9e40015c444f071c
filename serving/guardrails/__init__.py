"""Guardrails as pure functions: frequency caps, consent, stock, discount caps and budgets, sentiment, fairness.

``evaluate`` masks a decision's candidates given the guard state; ``apply_decision`` / ``apply_dismissal`` return the
next guard state. Time is the decision's event time, passed in; nothing is read from a clock. See docs/policy.md.
"""

from serving.guardrails.config import (
    DEFAULT_ACTION_PURPOSES,
    DEFAULT_CONSENT_FEATURES,
    FairnessConfig,
    GuardrailConfig,
    Purpose,
)
from serving.guardrails.effects import GuardrailEffect, effects
from serving.guardrails.errors import GuardrailConfigError, GuardrailError
from serving.guardrails.fairness import FairnessMonitor, GroupRate
from serving.guardrails.mask import RULE_ORDER, GuardrailLabel, GuardResult, evaluate, has_consent
from serving.guardrails.state import (
    GuardContext,
    InterventionRecord,
    SharedGuardState,
    UserGuardState,
    apply_decision,
    apply_dismissal,
    discount_value,
)
from serving.guardrails.windows import BucketWindow, bucket_of

__all__ = [
    "DEFAULT_ACTION_PURPOSES",
    "DEFAULT_CONSENT_FEATURES",
    "RULE_ORDER",
    "BucketWindow",
    "FairnessConfig",
    "FairnessMonitor",
    "GroupRate",
    "GuardContext",
    "GuardResult",
    "GuardrailConfig",
    "GuardrailConfigError",
    "GuardrailEffect",
    "GuardrailError",
    "GuardrailLabel",
    "InterventionRecord",
    "Purpose",
    "SharedGuardState",
    "UserGuardState",
    "apply_decision",
    "apply_dismissal",
    "bucket_of",
    "discount_value",
    "effects",
    "evaluate",
    "has_consent",
]
