"""What a replay isolates: its settings, derived from production's and its namespace, and a producer that refuses
to write outside the namespace.

Isolated: topics (``<namespace>.*``), consumer/reader group ids (``<namespace>-*``), the worker state directory
(``replay.data_dir/<namespace>``: checkpoints, the Feast repository and its SQLite online store — a replay never
opens production's online store, Redis or not), metrics (``replay.metrics_port``, off by default). Shared, read
only: the archive or production's raw topic it reads, the catalogue it reads, the policy weights it loads.
Not used: Triton (the policy is scored in process, :mod:`kairos.replay.policy`) and the language model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from kairos.replay.errors import ReplayIsolationError
from kairos.replay.topics import replay_topics
from kairos.settings import Settings, SettingsError
from streams.clients import producer_config

__all__ = ["NamespacedProducer", "replay_settings"]

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def replay_settings(production: Settings, namespace: str, *, learn: bool = False) -> Settings:
    """The settings a replay in ``namespace`` runs with.

    >>> s = replay_settings(Settings(), "r1")
    >>> s.topics.events, s.ingest.group_id, s.ingest.clock, s.worker.data_dir, s.online.store, s.serving.triton_url
    ('r1.events.v1', 'r1-ingest', 'records', 'var/replay/r1', 'sqlite', '')

    Raises:
        SettingsError: an invalid namespace, or production's own.
    """
    if not _NAMESPACE.match(namespace):
        raise SettingsError(f"replay namespace {namespace!r}: letters, digits, - and _ only (at most 64)")
    topics = replay_topics(production.topics, namespace)
    return replace(
        production,
        kafka=replace(production.kafka, client_id=namespace),
        topics=topics,
        ingest=replace(production.ingest, group_id=f"{namespace}-ingest", clock="records"),
        worker=replace(production.worker, data_dir=str(Path(production.replay.data_dir) / namespace)),
        online=replace(production.online, store="sqlite"),
        serving=replace(production.serving, triton_url=""),
        attribution=replace(production.attribution, group_id=f"{namespace}-attribution"),
        learn=replace(production.learn, enabled=learn),
    )


class NamespacedProducer(Producer):
    """A producer that raises :class:`ReplayIsolationError` for any topic outside ``<namespace>.`` and records,
    per partition, where its acknowledged records end (the replay's stages read up to there).

    Args:
        settings: the replay's settings.
        **extra: more producer configuration.
    """

    def __init__(self, settings: Settings, **extra: Any) -> None:
        self.prefix = f"{settings.topics.namespace}."
        self.ends: dict[tuple[str, int], int] = {}
        self.failures: list[str] = []
        config = producer_config(
            settings.kafka,
            **{"enable.idempotence": True, "on_delivery": self._delivered(), **extra},
        )
        super().__init__(config)

    def _delivered(self) -> Callable[[KafkaError | None, Message], None]:
        ends, failures = self.ends, self.failures

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}[{msg.partition()}]: {err}")
                return
            key = (msg.topic() or "", msg.partition() or 0)
            end = (msg.offset() or 0) + 1
            if end > ends.get(key, 0):
                ends[key] = end

        return on_delivery

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        """Produce to ``topic`` if it is in the namespace.

        Raises:
            ReplayIsolationError: it is not.
        """
        if not topic.startswith(self.prefix):
            raise ReplayIsolationError(f"replay producer refused to write {topic} (outside {self.prefix}*)")
        super().produce(topic, *args, **kwargs)
