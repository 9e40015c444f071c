"""From a trigger to a :class:`~schemas.decisions.Decision`, purely: candidates, vectors, guardrails, choice, record.

The decision stage (``agents/decide.py``) does the I/O around two steps:

1. :func:`prepare` — per trigger, with the features *as of the trigger*: generate the candidates, encode the state
   and candidate vectors (padded to a fixed K). The stage scores every prepared decision of a batch in one call
   (Triton, or the fallback policy when Triton does not answer).
2. :func:`choose` — per trigger, in partition order: apply the guardrails with the guard state as it stands after
   the decisions before it (so two triggers of one user in a batch see each other), choose with the decision's own
   seed, and return the next guard state.
3. The policy's ``explain`` — for every chosen decision of the batch at once (one backward pass for a neural policy);
   then :func:`record` builds each decision record. :func:`conclude` does 2–3 for one trigger.

Everything is a function of its arguments: a replay of the same triggers with the same features, scores and guard
state reproduces the same decisions, propensities included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from schemas.decisions import Decision, FeatureContribution, PolicySource, ScoredCandidate
from schemas.events import AddToCart, Event, ProductView
from schemas.features import FEATURE_VERSION
from schemas.fields import CURRENT_SCHEMA_VERSION
from serving.guardrails import (
    GuardContext,
    GuardrailConfig,
    GuardrailEffect,
    GuardrailLabel,
    SharedGuardState,
    UserGuardState,
    apply_decision,
    effects,
    evaluate,
)
from serving.models.inputs import FeatureRow
from serving.models.suite import ModelSuite
from serving.policy import (
    AcceptanceManyFn,
    ActionSpace,
    Candidate,
    CandidateSources,
    ModelScores,
    StateEncoder,
    generate_candidates,
    seed_for,
)

__all__ = [
    "TRIGGER_TYPES",
    "Chooser",
    "Chosen",
    "Concluded",
    "DecisionPolicy",
    "Explainer",
    "Prepared",
    "TriggerContext",
    "choose",
    "conclude",
    "decision_id_for",
    "feature_hash",
    "is_trigger",
    "prepare",
    "record",
    "trigger_context",
]

F32 = npt.NDArray[np.float32]
Explainer = Callable[[F32, F32], list[list[FeatureContribution]]]
Chooser = Callable[[npt.NDArray[np.float64], npt.NDArray[np.bool_], int], tuple[int, npt.NDArray[np.float64]]]


def trigger_context(
    event: Event,
    user_row: FeatureRow | None,
    session_row: FeatureRow | None,
    models: ModelSuite,
    *,
    product_rows: Mapping[str, FeatureRow],
    popular: tuple[str, ...] = (),
    group: str | None = None,
) -> TriggerContext:
    """One trigger's context: the River models' scores for its session (right after they observed the event, with
    the same rows), its segment, the product it concerns and the CF acceptance functions."""
    scores = models.predict_one(event.session_id, session_row, user_row)
    segment = models.segments.predict_one(user_row) if user_row is not None else None
    return TriggerContext(
        event=event,
        user_row=user_row,
        session_row=session_row,
        scores=ModelScores(scores.abandonment, scores.purchase_propensity, segment),
        product_rows=product_rows,
        popular=popular,
        current_product_id=event.product_id if isinstance(event, ProductView | AddToCart) else None,
        acceptance=models.offers.predict_proba_one,
        acceptance_many=models.offers.predict_proba_many,
        group=group,
    )


def decision_id_for(trigger_event_id: str, policy_name: str) -> str:
    """The decision's id: a digest of the trigger and the policy, so a replay names it the same.

    >>> decision_id_for("e-1", "neural_bandit")
    'd-f2713d46238ad1622fdc9c4d'
    """
    digest = hashlib.blake2b(f"{trigger_event_id}|{policy_name}".encode(), digest_size=12).hexdigest()
    return f"d-{digest}"


def feature_hash(user_row: FeatureRow | None, session_row: FeatureRow | None, scores: ModelScores) -> str:
    """A short digest of the features a decision read (stable across processes: sorted-key JSON)."""
    model_scores = [scores.abandonment, scores.purchase_propensity, scores.segment]
    payload = orjson.dumps(
        {"user": user_row, "session": session_row, "scores": model_scores}, option=orjson.OPT_SORT_KEYS, default=list
    )
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


TRIGGER_TYPES = frozenset({"product_view", "add_to_cart", "exit_intent", "chat_message", "checkout_start"})
"""Event types that ask for a decision (an idle trigger is a ``page_view`` after ``idle_trigger_s`` of silence)."""


def is_trigger(event: Event, session_row: FeatureRow | None, idle_trigger_s: float) -> bool:
    """Whether ``event`` asks for a decision: a trigger type, or a page view after ``idle_trigger_s`` of silence."""
    if event.event_type in TRIGGER_TYPES:
        return True
    if event.event_type == "page_view" and session_row is not None:
        idle = session_row.get("idle_s")
        return isinstance(idle, int | float) and idle >= idle_trigger_s
    return False


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """What the stage read for one trigger (features as of the trigger event).

    Attributes:
        event: the trigger event.
        user_row: the user's row (``None`` when none yet).
        session_row: the session's row.
        scores: the River models' answers for the session.
        product_rows: rows of the products the candidates may name (stock overlaid from the catalogue).
        popular: product ids by popularity, best first.
        acceptance: CF acceptance ``(user, item) -> p`` or ``None``.
        current_product_id: the product the trigger concerns, if any.
        cart_product_ids: products in the cart, if known.
        group: the user's fairness group (never a policy input), or ``None``.
        acceptance_many: CF acceptance of several items in one call ``(user, items) -> [p]`` (agreeing with
            ``acceptance``), or ``None``.
    """

    event: Event
    user_row: FeatureRow | None
    session_row: FeatureRow | None
    scores: ModelScores
    product_rows: Mapping[str, FeatureRow]
    popular: tuple[str, ...] = ()
    acceptance: Callable[[str, str], float] | None = None
    current_product_id: str | None = None
    cart_product_ids: tuple[str, ...] = ()
    group: str | None = None
    acceptance_many: AcceptanceManyFn | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """One trigger ready to be scored: its candidates, vectors and padding mask."""

    context: TriggerContext
    decision_id: str
    candidates: tuple[Candidate, ...]
    state: F32
    vectors: F32
    valid: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    """Who decides: name, version, where the scores came from, how a choice is drawn, and how decisions are explained.

    ``explain(states[N, S], chosen[N, A])`` explains N decisions at once (each state with its chosen action's
    vector) and returns one contribution list per decision, e.g. :func:`~serving.policy.explain_many`.
    """

    name: str
    version: str
    source: PolicySource
    choose: Chooser
    explain: Explainer


@dataclass(frozen=True, slots=True)
class Concluded:
    """A decision and the guard state after it."""

    decision: Decision
    user: UserGuardState
    shared: SharedGuardState


def prepare(
    context: TriggerContext, encoder: StateEncoder, space: ActionSpace, *, policy_name: str, pad_to: int
) -> Prepared:
    """Candidates and vectors of one trigger (see the module docstring)."""
    event = context.event
    user_row = context.user_row
    top = user_row.get("top_category") if user_row is not None else None
    sources = CandidateSources(
        user_key=event.partition_key,
        current_product_id=context.current_product_id,
        cart_product_ids=context.cart_product_ids,
        product_rows=context.product_rows,
        popular=context.popular,
        acceptance=context.acceptance,
        acceptance_many=context.acceptance_many,
        user_top_category=top if isinstance(top, str) else None,
    )
    candidates = generate_candidates(sources, space)
    state = encoder.encode_state(user_row, context.session_row, context.scores, event.event_type)
    vectors, valid = encoder.encode_candidates(
        candidates, context.product_rows, anchor_product_id=sources.anchor_product_id, pad_to=pad_to
    )
    return Prepared(context, decision_id_for(event.event_id, policy_name), candidates, state, vectors, valid)


@dataclass(frozen=True, slots=True)
class Chosen:
    """One decision chosen but not yet recorded: the guardrails' verdict, the choice, and the guard state after it.

    Attributes:
        prepared: the prepared trigger.
        scores: the policy's scores of its candidates (padded).
        index: the chosen candidate.
        propensities: every candidate's probability of being chosen (padded).
        applied: the guardrails that masked at least one candidate, in rule order.
        user: the user's guard state after the decision.
        shared: the partition's shared guard state after the decision.
        mask: the candidates the guardrails allowed (padded), as the policy chose among them.
        effects: what each applied guardrail did to the decision (see :func:`serving.guardrails.effects`).
    """

    prepared: Prepared
    scores: npt.NDArray[np.float64]
    index: int
    propensities: npt.NDArray[np.float64]
    applied: tuple[GuardrailLabel, ...]
    user: UserGuardState
    shared: SharedGuardState
    mask: npt.NDArray[np.bool_] | None = None
    effects: tuple[tuple[GuardrailLabel, GuardrailEffect], ...] = ()

    @property
    def vector(self) -> F32:
        """The chosen candidate's action vector (what its explanation is computed for)."""
        vector: F32 = self.prepared.vectors[self.index]
        return vector


def choose(
    prepared: Prepared,
    scores: npt.NDArray[np.float64],
    policy: DecisionPolicy,
    *,
    user: UserGuardState,
    shared: SharedGuardState,
    guardrails: GuardrailConfig,
) -> Chosen:
    """Guard and choose one decision, and fold it into the guard state (step 2 without the record)."""
    context, event = prepared.context, prepared.context.event
    n = len(prepared.candidates)
    guard_context = GuardContext(
        now_s=event.event_time.timestamp(),
        session_id=event.session_id,
        trigger=event.event_type,
        user_row=context.user_row,
        session_row=context.session_row,
        product_rows=context.product_rows,
        group=context.group,
    )
    actions = [c.action for c in prepared.candidates]
    guarded = evaluate(actions, guard_context, user, shared, guardrails)
    mask = np.zeros(len(prepared.valid), dtype=np.bool_)
    mask[:n] = guarded.mask
    scores = np.asarray(scores, dtype=np.float64)
    index, propensities = policy.choose(scores, mask, seed_for(prepared.decision_id))
    next_user, next_shared = apply_decision(user, shared, prepared.candidates[index].action, guard_context, guardrails)
    done = effects(guarded, [a.type for a in actions], scores)
    return Chosen(prepared, scores, index, propensities, guarded.applied, next_user, next_shared, mask, done)


def record(
    chosen: Chosen,
    policy: DecisionPolicy,
    explanation: list[FeatureContribution],
    *,
    attribution_window_s: int,
) -> Decision:
    """The decision record of a chosen decision, with its explanation (computed for ``chosen.vector``)."""
    prepared = chosen.prepared
    context, event = prepared.context, prepared.context.event
    index, propensities = chosen.index, chosen.propensities
    return Decision(
        decision_id=prepared.decision_id,
        event_time=event.event_time,
        schema_version=CURRENT_SCHEMA_VERSION,
        session_id=event.session_id,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        trigger_event_id=event.event_id,
        trigger_event_type=event.event_type,
        action=prepared.candidates[index].action,
        propensity=float(propensities[index]),
        policy_name=policy.name,
        policy_version=policy.version,
        policy_source=policy.source,
        attribution_window_s=attribution_window_s,
        candidates=_scored(prepared.candidates, chosen.scores, propensities),
        feature_hash=feature_hash(context.user_row, context.session_row, context.scores),
        feature_version=FEATURE_VERSION,
        guardrails=list(chosen.applied),
        explanation=explanation,
    )


def conclude(
    prepared: Prepared,
    scores: npt.NDArray[np.float64],
    policy: DecisionPolicy,
    *,
    user: UserGuardState,
    shared: SharedGuardState,
    guardrails: GuardrailConfig,
    attribution_window_s: int,
) -> Concluded:
    """Guard, choose, explain and record one decision (:func:`choose`, the policy's explanation, :func:`record`)."""
    chosen = choose(prepared, scores, policy, user=user, shared=shared, guardrails=guardrails)
    [explanation] = policy.explain(prepared.state[None], chosen.vector[None])
    decision = record(chosen, policy, explanation, attribution_window_s=attribution_window_s)
    return Concluded(decision, chosen.user, chosen.shared)


def _scored(
    candidates: Sequence[Candidate], scores: npt.NDArray[np.float64], propensities: npt.NDArray[np.float64]
) -> list[ScoredCandidate]:
    n = len(candidates)  # the arrays are padded; tolist() gives the same Python floats as float(array[i])
    return [
        ScoredCandidate(action=c.action, score=score, propensity=propensity)
        for c, score, propensity in zip(candidates, scores[:n].tolist(), propensities[:n].tolist(), strict=True)
    ]
