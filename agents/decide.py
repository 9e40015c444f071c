"""decide: interventions for trigger events, inside the feature stage, right after each event's features.

The feature stage calls :meth:`DecisionStage.collect` for every applied event with the rows and models *as of that
event* (a trigger asks the models for its session's scores then; so a decision sees exactly the events before it on
its partition, and a replay sees the same), and
:meth:`DecisionStage.flush` once per batch: the batch's triggers are prepared (candidates, vectors), scored in as
few calls as possible — Triton's ``kairos_policy`` through :class:`~serving.inference.PolicyClient`, or, when
Triton is slow, down or its circuit is open, the local fallback policy (``policy_source="fallback"``) — then
chosen one by one in partition order (guardrails with the guard state after the decisions before it, the seeded
choice), explained all at once (one backward pass for the neural policy), and published to the interventions topic
keyed like the trigger, on the same partition.

Guard state (caps, cool-downs, budgets, fairness counts) lives per partition in :class:`PartitionGuards`; the
feature stage checkpoints it with the features.

With a contexts topic, every decision's :class:`~schemas.contexts.DecisionContext` (the vectors the policy scored)
follows it on ``kairos.decision_contexts.v1``, same key and partition, for the learner. A promoted version arrives as
a :class:`~schemas.contexts.PolicyRelease` (:meth:`DecisionStage.offer_release`, from any thread); the next
:meth:`DecisionStage.flush` swaps the local copy to its weights and pins Triton requests to its ``model_version``,
so a decision's ``policy_version`` always names the weights that scored it (a request for a version Triton no longer
serves fails over to the fallback, which logs itself).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from confluent_kafka import Producer

from featurestore.hot import FeatureCache
from schemas.codec import encode
from schemas.contexts import PolicyRelease
from schemas.decisions import Decision, InterventionType
from schemas.events import ChatMessage, Event, InterventionDismiss
from serving.decision_builder import (
    TRIGGER_TYPES,
    Chosen,
    DecisionPolicy,
    Prepared,
    TriggerContext,
    choose,
    is_trigger,
    prepare,
    record,
    trigger_context,
)
from serving.guardrails import (
    FairnessConfig,
    FairnessMonitor,
    GuardrailConfig,
    SharedGuardState,
    UserGuardState,
    apply_dismissal,
)
from serving.inference import InferenceUnavailableError
from serving.learning import CheckpointError, decision_context, restore_weights
from serving.models import ModelSuite
from serving.models.inputs import FeatureRow
from serving.policy import ActionSpace, DQNPolicy, PPOPolicy, RulePolicy, StateEncoder, explain_many
from serving.policy.neural_bandit import NeuralBandit
from serving.product_rows import candidate_rows, popular_products, with_stock
from streams.catalogue import CatalogueTable
from streams.metrics import (
    DECISION_SECONDS,
    DECISIONS,
    DECISIONS_HELD_BACK,
    FAIRNESS_DISCOUNTS,
    FAIRNESS_GAP,
    FAIRNESS_GROUP_DECISIONS,
    FAIRNESS_SETTING,
    GUARDRAILS,
    POLICY_MODEL_VERSION,
)
from streams.provenance import source_header

__all__ = [
    "TRIGGER_TYPES",
    "DecideOptions",
    "DecisionStage",
    "FirstPolicy",
    "PartitionGuards",
    "PolicyScorer",
    "ServedPolicy",
    "export_fairness",
]

logger = logging.getLogger(__name__)

_OVERLAY_CACHE_SIZE = 4096
"""Most product rows with a remembered stock overlay (see ``DecisionStage._product_rows``)."""

ServedPolicy = NeuralBandit | DQNPolicy | PPOPolicy
"""The neural policies Triton serves and the stage keeps a local copy of."""


class PolicyScorer(Protocol):
    """What the stage scores with: Triton's :class:`~serving.inference.PolicyClient`, or a replay's local copy."""

    model_version: str
    max_batch_size: int

    def score_sync(
        self, states: npt.ArrayLike, candidates: npt.ArrayLike, mask: npt.ArrayLike, timeout_s: float | None = None
    ) -> npt.NDArray[np.float32]:
        """Scores ``[N, K]`` of N decisions (raises ``InferenceUnavailableError`` when there is no answer)."""
        ...


class FirstPolicy(Protocol):
    """What decides before any learned release: scores, an exact stochastic choice, a name and version to log."""

    name: str

    @property
    def version(self) -> str:
        """The version decisions log."""
        ...

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Scores ``[N, K]``."""
        ...

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        """The chosen index and every candidate's propensity."""
        ...


@dataclass(frozen=True, slots=True)
class DecideOptions:
    """The decision stage's knobs (see ``Settings.decide``)."""

    pad_to: int = 32
    timeout_s: float = 0.02
    attribution_window_s: int = 10800
    idle_trigger_s: float = 60.0
    popular_top: int = 20
    popular_refresh_s: float = 5.0


@dataclass
class PartitionGuards:
    """One partition's guard state: per user, and shared (budgets, fairness). Picklable."""

    shared: SharedGuardState
    users: dict[str, UserGuardState] = field(default_factory=dict)

    @classmethod
    def for_config(cls, config: GuardrailConfig) -> PartitionGuards:
        """Empty guard state."""
        return cls(SharedGuardState.for_config(config))


@dataclass(frozen=True, slots=True)
class _Pending:
    partition: int
    context: TriggerContext
    offset: int = -1  # the trigger's offset on its input topic (-1: unknown)


class DecisionStage:
    """Decides for the feature stage (see the module docstring).

    Args:
        interventions_topic: where decisions go.
        policy: the policy the worker serves (its local copy explains decisions; Triton serves the same version).
        encoder: the state/candidate layout the policy was built for.
        space: the action space.
        guardrails: guardrail settings.
        cache: the hot feature copy (product rows and popularity).
        catalogue: the global catalogue (stock).
        client: Triton's policy client (or a replay's local scorer), or ``None`` to decide with the fallback policy
            only.
        options: stage knobs.
        group_of: the fairness attribute lookup (user key -> group), never a policy input.
        on_concierge: receives each published ``concierge_message`` decision with the shopper's chat text ('' when
            not a chat message triggered it); must not block (the concierge agent queues it on its own loop).
        clock: monotonic seconds (injected for tests).
        contexts_topic: where each decision's context goes for the learner (``None``: not published).
        model_version: the Triton version ``policy`` is (requests are pinned to it once a release was adopted).
        first: who decides until the first learned release is adopted (production: the rules with a small, exact
            exploration, whose logs the learner trains the first version from); ``None``: ``policy`` from the start.
    """

    def __init__(
        self,
        interventions_topic: str,
        *,
        policy: ServedPolicy,
        encoder: StateEncoder,
        space: ActionSpace,
        guardrails: GuardrailConfig,
        cache: FeatureCache,
        catalogue: CatalogueTable,
        client: PolicyScorer | None = None,
        options: DecideOptions | None = None,
        group_of: Callable[[str], str | None] | None = None,
        on_concierge: Callable[[Decision, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        contexts_topic: str | None = None,
        model_version: int = 1,
        first: FirstPolicy | None = None,
    ) -> None:
        self._topic = interventions_topic
        self._contexts_topic = contexts_topic
        self.model_version = model_version
        POLICY_MODEL_VERSION.labels("decide").set(model_version)
        self._release_lock = threading.Lock()
        self._release: PolicyRelease | None = None
        self._policy = policy
        self._encoder = encoder
        self._space = space
        self._guardrails = guardrails
        self._cache = cache
        self._catalogue = catalogue
        self._client = client
        self._options = options or DecideOptions()
        self._group_of = group_of
        self._fair_groups: dict[int, set[str]] = {}  # per partition: the groups whose gauges were set
        fairness = guardrails.fairness
        FAIRNESS_SETTING.clear()  # one decision stage per process: its settings only
        for setting, value in (
            ("max_gap", fairness.max_gap),
            ("min_decisions", float(fairness.min_decisions)),
            ("window_s", fairness.window_s),
            ("group_lookup", float(group_of is not None)),
        ):
            FAIRNESS_SETTING.labels(fairness.attribute or "", setting).set(value)
        self._on_concierge = on_concierge
        self._clock = clock
        self._fallback = RulePolicy(encoder)
        self._pending: list[_Pending] = []
        self._source_topic: str | None = None
        self._emitted: dict[int, dict[str, int]] = {}  # per partition and output: the held-back trigger offsets
        self._popular: tuple[str, ...] = ()
        self._popular_due = 0.0
        self._overlays: dict[str, tuple[FeatureRow | None, int, FeatureRow]] = {}
        self._served = self._decision_policy(policy)
        self._fallback_policy = DecisionPolicy(
            self._fallback.name,
            self._fallback.version,
            "fallback",
            self._fallback.choose,
            lambda s, _c: self._fallback.explain_many(s),
        )
        # until the first learned release: who scores, and how its decisions are logged
        self._first: tuple[FirstPolicy, DecisionPolicy] | None = None
        if first is not None:
            logged = DecisionPolicy(first.name, first.version, "rules", first.choose, self._fallback_policy.explain)
            self._first = (first, logged)

    def _decision_policy(self, policy: ServedPolicy) -> DecisionPolicy:
        names = self._encoder.state_names
        return DecisionPolicy(
            policy.name, policy.version, "triton", policy.choose, lambda s, c: explain_many(policy, s, c, names)
        )

    @property
    def policy(self) -> ServedPolicy:
        """The local copy of the served policy."""
        return self._policy

    @property
    def first_version(self) -> str | None:
        """The version of the policy deciding until the first learned release (``None`` once one was adopted, or
        when the served policy decides from the start)."""
        return None if self._first is None else self._first[0].version

    def offer_release(self, release: PolicyRelease) -> None:
        """Note a promoted version (thread-safe); the next :meth:`flush` adopts it if it is newer than the copy."""
        if release.policy_name != self._policy.name:
            return
        with self._release_lock:
            if self._release is None or release.model_version > self._release.model_version:
                self._release = release

    def _adopt_release(self) -> None:
        with self._release_lock:
            release, self._release = self._release, None
        if release is None or (release.model_version <= self.model_version and self._pinned()):
            return
        policy = copy.deepcopy(self._policy)
        try:
            restore_weights(policy, release.weights, release.updates)
        except CheckpointError as exc:  # another layout (an old release): keep the copy and its pin
            logger.warning("policy release model_version=%s not adopted: %s", release.model_version, exc)
            return
        self._policy, self._served = policy, self._decision_policy(policy)
        if self._first is not None:
            logger.info("the first learned release replaces %s", self._first[0].version)
            self._first = None
        self.model_version = release.model_version
        if self._client is not None:
            self._client.model_version = str(release.model_version)
        POLICY_MODEL_VERSION.labels("decide").set(release.model_version)
        logger.info("adopted policy version=%s model_version=%s", policy.version, release.model_version)

    def _pinned(self) -> bool:
        return self._client is None or bool(self._client.model_version)

    def fresh_guards(self) -> PartitionGuards:
        """A partition's empty guard state (for the feature stage's checkpoints)."""
        return PartitionGuards.for_config(self._guardrails)

    def collect(
        self,
        partition: int,
        event: Event,
        *,
        user_row: FeatureRow | None,
        session_row: FeatureRow | None,
        models: ModelSuite,
        guards: PartitionGuards,
        offset: int = -1,
    ) -> None:
        """Note one applied event: a dismissal starts its user's cool-down; a trigger asks the models for its
        session's scores (right after they observed the event, with the same rows) and waits for :meth:`flush`.
        ``offset`` is the event's on the input topic: its decision's provenance (:meth:`hold_back`)."""
        if isinstance(event, InterventionDismiss):
            self.replay(event, guards)
            return
        if not is_trigger(event, session_row, self._options.idle_trigger_s):
            return
        group = self._group_of(event.partition_key) if self._group_of is not None else None
        # product rows are filled at flush time, from the product copy as it stands then
        context = trigger_context(event, user_row, session_row, models, product_rows={}, group=group)
        self._pending.append(_Pending(partition, context, offset))

    @property
    def outputs(self) -> list[str]:
        """The topics decisions go to (the interventions, and the contexts when published)."""
        return [self._topic] + ([self._contexts_topic] if self._contexts_topic is not None else [])

    def hold_back(self, partition: int, source_topic: str, emitted: Mapping[str, int]) -> None:
        """After a restart: per output topic, the largest trigger offset of ``partition`` whose record is already
        there (``streams.provenance.last_emitted_offset``). Triggers up to it are decided again — the guard state
        needs it — but not published again: each trigger's decision is published once, as attribution's rewards are.
        Every record this stage publishes carries its trigger's ``kairos.src`` header on ``source_topic``."""
        self._source_topic = source_topic
        self._emitted[partition] = dict(emitted)

    def replay(self, event: Event, guards: PartitionGuards) -> None:
        """Fold a re-read event into the guard state without deciding (its decision was published before)."""
        if isinstance(event, InterventionDismiss):
            key = event.partition_key
            guards.users[key] = apply_dismissal(guards.users.get(key, UserGuardState()), event.event_time.timestamp())

    def flush(self, producer: Producer, guards: Mapping[int, PartitionGuards]) -> int:
        """Decide every collected trigger and publish the decisions; returns how many were published."""
        self._adopt_release()
        if not self._pending:
            return 0
        started = time.perf_counter()
        pending, self._pending = self._pending, []
        popular = self._popular_products()
        prepared = [self._prepare(p, popular) for p in pending]
        scores, policy = self._score(prepared)
        chosen: list[Chosen] = []
        for item, ready, row_scores in zip(pending, prepared, scores, strict=True):
            part = guards[item.partition]
            key = item.context.event.partition_key
            done = choose(
                ready,
                row_scores,
                policy,
                user=part.users.get(key, UserGuardState()),
                shared=part.shared,
                guardrails=self._guardrails,
            )
            part.users[key], part.shared = done.user, done.shared
            chosen.append(done)
        self._export_fairness(pending, guards)
        # Every decision of the batch explained at once (one backward pass), then recorded and published in order.
        explanations = policy.explain(np.stack([p.state for p in prepared]), np.stack([c.vector for c in chosen]))
        window = self._options.attribution_window_s
        for item, done, explanation in zip(pending, chosen, explanations, strict=True):
            decision = record(done, policy, explanation, attribution_window_s=window)
            key = item.context.event.partition_key
            emitted = self._emitted.get(item.partition, {})
            headers: list[tuple[str, str | bytes | None]] = []
            if self._source_topic is not None:
                headers.append(source_header(self._source_topic, item.partition, item.offset))
            if self._contexts_topic is not None and item.offset > emitted.get(self._contexts_topic, -1):
                context = decision_context(decision, done, key)
                producer.produce(self._contexts_topic, encode(context), key.encode(), item.partition, headers=headers)
            if item.offset <= emitted.get(self._topic, -1):  # published before a restart: not again
                DECISIONS_HELD_BACK.labels("decision").inc()
                continue
            producer.produce(self._topic, encode(decision), key.encode(), item.partition, headers=headers)
            DECISIONS.labels(policy.source, decision.action.type.value).inc()
            for rule, effect in done.effects:
                GUARDRAILS.labels(rule.value, effect.value).inc()
            if self._on_concierge is not None and decision.action.type is InterventionType.CONCIERGE_MESSAGE:
                trigger = item.context.event
                self._on_concierge(decision, trigger.text if isinstance(trigger, ChatMessage) else "")
        DECISION_SECONDS.observe(time.perf_counter() - started)
        return len(prepared)

    def _export_fairness(self, pending: list[_Pending], guards: Mapping[int, PartitionGuards]) -> None:
        """Set the fairness gauges of the batch's partitions from their monitors, at their newest event time."""
        config = self._guardrails.fairness
        if config.attribute is None or self._group_of is None:  # no group, nothing counted
            return
        newest: dict[int, float] = {}
        for item in pending:
            t = item.context.event.event_time.timestamp()
            newest[item.partition] = max(t, newest.get(item.partition, t))
        for partition, now_s in newest.items():
            seen = self._fair_groups.setdefault(partition, set())
            export_fairness(partition, guards[partition].shared.fairness, now_s, config, seen)

    def _prepare(self, pending: _Pending, popular: tuple[str, ...]) -> Prepared:
        context = pending.context
        rows = candidate_rows(context.current_product_id, popular, self._product_row)
        context = TriggerContext(
            event=context.event,
            user_row=context.user_row,
            session_row=context.session_row,
            scores=context.scores,
            product_rows=rows,
            popular=popular,
            acceptance=context.acceptance,
            current_product_id=context.current_product_id,
            cart_product_ids=context.cart_product_ids,
            group=context.group,
            acceptance_many=context.acceptance_many,
        )
        return prepare(context, self._encoder, self._space, policy_name=self._policy.name, pad_to=self._options.pad_to)

    def _product_row(self, product_id: str) -> FeatureRow:
        # The catalogue's stock overlaid on the product row. An overlay is reused while its product's row object and
        # stock are unchanged (rows are replaced, never mutated), so the encoder's per-row cache hits.
        row, units = self._cache.products.get(product_id), self._catalogue.stock(product_id)
        overlays = self._overlays
        hit = overlays.get(product_id)
        if hit is not None and hit[0] is row and hit[1] == units:
            return hit[2]
        overlay = with_stock(row, units)
        if hit is None and len(overlays) >= _OVERLAY_CACHE_SIZE:
            del overlays[next(iter(overlays))]  # the oldest entry
        overlays[product_id] = (row, units, overlay)
        return overlay

    def _popular_products(self) -> tuple[str, ...]:
        now = self._clock()
        if now >= self._popular_due:
            self._popular_due = now + self._options.popular_refresh_s
            stock = self._catalogue.stock
            self._popular = popular_products(self._cache.products, lambda p: stock(p) != 0, self._options.popular_top)
        return self._popular

    def _score(self, prepared: list[Prepared]) -> tuple[list[npt.NDArray[np.float64]], DecisionPolicy]:
        states = np.stack([p.state for p in prepared])
        vectors = np.stack([p.vectors for p in prepared])
        valid = np.stack([p.valid for p in prepared])
        if self._first is not None:  # no learned release yet
            first, logged = self._first
            return list(first.scores(states, vectors, valid)), logged
        if self._client is not None:
            try:
                out: list[npt.NDArray[np.float64]] = []
                step = self._client.max_batch_size
                for i in range(0, len(prepared), step):
                    chunk = self._client.score_sync(
                        states[i : i + step], vectors[i : i + step], valid[i : i + step], self._options.timeout_s
                    )
                    out.extend(np.asarray(chunk, dtype=np.float64))
                return out, self._served
            except InferenceUnavailableError as exc:
                logger.debug("policy scoring fell back: %s", exc)
        scores = self._fallback.scores(states, vectors, valid)
        return list(scores), self._fallback_policy


def export_fairness(
    partition: int, monitor: FairnessMonitor, now_s: float, config: FairnessConfig, seen: set[str]
) -> None:
    """Set one partition's fairness gauges from its monitor at event time ``now_s``; a group in ``seen`` that left
    the window is set to 0, and ``seen`` gains the groups set now."""
    rates = monitor.rates(now_s)
    label = str(partition)
    for group in seen - rates.keys():
        FAIRNESS_GROUP_DECISIONS.labels(label, group).set(0)
        FAIRNESS_DISCOUNTS.labels(label, group).set(0)
    for group, rate in rates.items():
        FAIRNESS_GROUP_DECISIONS.labels(label, group).set(rate.decisions)
        FAIRNESS_DISCOUNTS.labels(label, group).set(rate.discounts)
    seen.update(rates)
    FAIRNESS_GAP.labels(label).set(monitor.parity_gap(now_s, config))
