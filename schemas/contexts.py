"""Learning contracts: decision contexts (``kairos.decision_contexts.v1``), policy releases (``kairos.policy.v1``).

A :class:`~schemas.decisions.Decision` says what was chosen, for the shop and for audits; it does not carry the
vectors the policy scored. The decision stage therefore also publishes a compact :class:`DecisionContext` per
decision (same key and partition as the decision), which the learner joins with the decision's final reward to
build a policy's feedback. It never carries a protected attribute: only the policy's own inputs and a replay
stratum.

A :class:`PolicyRelease` announces a promoted policy version on a compacted topic (key: the policy name), with its
weights, so every worker's decision stage swaps its local copy to the weights Triton serves as ``model_version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta, Struct

from schemas.fields import CURRENT_SCHEMA_VERSION, AwareDatetime, Count, Id, Label, SchemaVersion

__all__ = [
    "ContextPropensity",
    "DecisionContext",
    "PolicyRelease",
    "example_decision_context",
    "example_policy_release",
]

ContextPropensity = Annotated[float, Meta(gt=0.0, le=1.0)]
"""The logged probability of the chosen candidate, in (0, 1]."""


class DecisionContext(Struct, frozen=True, kw_only=True):
    """What a policy scored for one decision, for the learner.

    ``candidates`` holds only the real candidates (padding dropped), one vector each; ``mask`` says which the
    guardrails allowed; ``chosen`` indexes both. ``propensities`` are every candidate's logged probability (0 where
    masked), ``propensity`` the chosen one's. ``stratum`` is the replay stratum (e.g. the trigger type); never a
    protected attribute.
    """

    decision_id: Id
    key: Id
    event_time: AwareDatetime
    schema_version: SchemaVersion
    session_id: Id
    policy_name: Id
    policy_version: Id
    policy_source: Label
    state: list[float]
    candidates: list[list[float]]
    mask: list[bool]
    chosen: Count
    propensity: ContextPropensity
    propensities: list[float] = []
    stratum: Label = "all"


class PolicyRelease(Struct, frozen=True, kw_only=True):
    """A promoted policy version: what Triton serves as ``model_version`` and the weights that go with it.

    ``weights`` is a ``torch.save`` of the policy's ``state_dict`` (base64 in JSON); ``updates`` restores the
    policy's update count (its exploration schedule depends on it). ``gate`` is the promotion gate's reason line.
    """

    policy_name: Id
    policy_version: Id
    model_version: Annotated[int, Meta(ge=1)]
    updates: Count
    weights: bytes
    event_time: AwareDatetime
    schema_version: SchemaVersion
    gate: Label = ""


def example_decision_context() -> DecisionContext:
    """A decision context as the decision step publishes it (two candidates, three inputs each)."""
    return DecisionContext(
        decision_id="d-1",
        key="u-1",
        event_time=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id="s-1",
        policy_name="neural_bandit",
        policy_version="neural_bandit-u0",
        policy_source="triton",
        state=[0.5, 1.0, 0.0],
        candidates=[[0.0, 0.0, 1.0], [1.0, 0.1, 0.0]],
        mask=[True, True],
        chosen=1,
        propensity=0.7,
        propensities=[0.3, 0.7],
        stratum="product_view",
    )


def example_policy_release() -> PolicyRelease:
    """A policy release as the learner announces it (placeholder weights)."""
    return PolicyRelease(
        policy_name="neural_bandit",
        policy_version="neural_bandit-u1000",
        model_version=2,
        updates=1000,
        weights=b"weights",
        event_time=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        schema_version=CURRENT_SCHEMA_VERSION,
        gate="promote: snipw difference 0.05, 95% lower bound 0.02 > margin 0.01 (bootstrap)",
    )
