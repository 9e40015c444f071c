"""Topic layout: which topics Kairos needs, created idempotently, checked for co-partitioning."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.clients import admin_config
from streams.config import KafkaConfig, TopicsConfig
from streams.errors import TopicLayoutError

__all__ = ["TopicSpec", "ensure_topics", "topic_specs"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic Kairos owns."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(topics: TopicsConfig) -> list[TopicSpec]:
    """Every topic of a deployment. All share one partition count: keys are user ids and every stage keeps the
    partition, so a user's events, decisions and rewards live on the same partition number everywhere."""
    events = {"retention.ms": str(topics.events_retention_ms)}
    # Kafka's default record limit, above the dead-letter sender's (agents/dead_letter.py): no letter is refused.
    dead = {"retention.ms": str(topics.dead_letter_retention_ms), "max.message.bytes": "1048588"}
    names = [
        (topics.raw_events, events),
        (topics.events, events),
        (topics.events_by_product, events),
        (topics.catalogue, {"cleanup.policy": "compact"}),
        (topics.dead_letters, dead),
        (topics.interventions, events),
        (topics.concierge, events),
        (topics.rewards, events),
        (topics.decision_contexts, events),
        (topics.policy_releases, {"cleanup.policy": "compact"}),
    ]
    return [TopicSpec(name, topics.partitions, topics.replication_factor, dict(conf)) for name, conf in names]


def ensure_topics(kafka: KafkaConfig, specs: list[TopicSpec], timeout_s: float = 15.0) -> dict[str, str]:
    """Create missing topics and check existing ones; safe to run any number of times.

    Returns:
        topic name to ``"created"`` or ``"exists"``.

    Raises:
        TopicLayoutError: a topic exists with a different partition count.
    """
    admin = AdminClient(admin_config(kafka))
    existing = admin.list_topics(timeout=timeout_s).topics
    result: dict[str, str] = {}
    for spec in specs:
        if spec.name in existing:
            have = len(existing[spec.name].partitions)
            if have != spec.partitions:
                raise TopicLayoutError(
                    f"topic {spec.name} has {have} partitions, settings say {spec.partitions}: co-partitioning "
                    "needs one count for every Kairos topic (create a new namespace or fix the setting)"
                )
            result[spec.name] = "exists"
    missing = [s for s in specs if s.name not in result]
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor, config=s.config) for s in missing],
            operation_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout_s)
                result[name] = "created"
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                result[name] = "exists"
    for name, status in result.items():
        logger.info("topic %s %s", name, status)
    return result
