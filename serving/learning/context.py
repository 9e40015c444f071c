"""The decision context of a chosen decision: what the learner needs and the decision record does not carry."""

from __future__ import annotations

from schemas.contexts import DecisionContext
from schemas.decisions import Decision
from schemas.fields import CURRENT_SCHEMA_VERSION
from serving.decision_builder import Chosen

__all__ = ["decision_context"]


def decision_context(decision: Decision, chosen: Chosen, key: str) -> DecisionContext:
    """The :class:`~schemas.contexts.DecisionContext` of ``decision`` (padding dropped; stratum: the trigger type).

    Args:
        decision: the record built from ``chosen``.
        chosen: the chosen decision (its prepared vectors, the guardrails' mask, the propensities).
        key: the decision's partition key (the trigger's).
    """
    prepared = chosen.prepared
    n = len(prepared.candidates)
    mask = chosen.mask if chosen.mask is not None else chosen.propensities > 0.0
    return DecisionContext(
        decision_id=decision.decision_id,
        key=key,
        event_time=decision.event_time,
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id=decision.session_id,
        policy_name=decision.policy_name,
        policy_version=decision.policy_version,
        policy_source=decision.policy_source,
        state=prepared.state.tolist(),
        candidates=prepared.vectors[:n].tolist(),
        mask=mask[:n].tolist(),
        chosen=chosen.index,
        propensity=decision.propensity,
        propensities=chosen.propensities[:n].tolist(),
        stratum=decision.trigger_event_type,
    )
