"""Composition of the decision path: the policy every process builds, the guardrails, the Triton repository.

The initial policy is deterministic (its weights come from ``serving.policy_seed``), so ``kairos triton`` (which
publishes it as ``kairos_policy`` version 1) and every worker (which keeps a local copy to explain decisions and
to compare versions) hold the same network without passing files around. Issue 5's learner publishes later
versions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents.concierge import ConciergeAgent
from agents.decide import DecideOptions, DecisionStage
from featurestore.hot import FeatureCache
from kairos.settings import Settings
from schemas.decisions import Decision
from serving.guardrails import FairnessConfig, GuardrailConfig
from serving.inference import (
    ENCODER_MODEL,
    LM_MODEL,
    POLICY_MODEL,
    PolicyClient,
    RepositoryConfig,
    TextClient,
    TritonConfig,
    model_versions,
    publish_policy_version,
    write_repository,
)
from serving.policy import ActionSpace, StateEncoder, export_torchscript
from serving.policy.neural_bandit import NeuralBandit
from streams.catalogue import CatalogueTable
from streams.clients import producer_config

__all__ = [
    "PolicyParts",
    "concierge_agent",
    "decision_stage",
    "guardrail_config",
    "policy_parts",
    "prepare_repository",
    "triton_config",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicyParts:
    """The layout and the initial policy."""

    encoder: StateEncoder
    space: ActionSpace
    policy: NeuralBandit


def policy_parts(settings: Settings) -> PolicyParts:
    """The state layout, the action space and the initial (seeded) policy."""
    encoder = StateEncoder()
    space = ActionSpace(max_candidates=settings.decide.max_candidates)
    policy = NeuralBandit(encoder.state_dim, encoder.action_dim, seed=settings.serving.policy_seed)
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
) -> DecisionStage:
    """The feature stage's decision step, scoring on Triton when ``serving.triton_url`` is set."""
    parts = policy_parts(settings)
    decide = settings.decide
    client = (
        PolicyClient(settings.serving.triton_url, timeout_s=decide.timeout_ms / 1000)
        if (settings.serving.triton_url)
        else None
    )
    return DecisionStage(
        settings.topics.interventions,
        policy=parts.policy,
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
    )


def triton_config(settings: Settings, *, free_ports: bool = False) -> TritonConfig:
    """The embedded server's configuration (``free_ports``: pick free ports instead of the configured ones)."""
    serving = settings.serving
    models = (POLICY_MODEL, ENCODER_MODEL, LM_MODEL) if serving.load_lm else (POLICY_MODEL, ENCODER_MODEL)
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
    return repo


def concierge_agent(settings: Settings, catalogue: CatalogueTable) -> ConciergeAgent:
    """The worker's concierge agent: Triton's encoder and language model when ``serving.triton_url`` is set."""
    from confluent_kafka import Producer

    url = settings.serving.triton_url
    return ConciergeAgent(
        settings.topics.concierge,
        Producer(producer_config(settings.kafka)),
        catalogue,
        client=TextClient(url) if url else None,
    )
