"""Topic names for the SRE commands: ``TopicsConfig`` names or full topic names, and a replay's namespace."""

from __future__ import annotations

from dataclasses import replace

from kairos.settings import SettingsError
from streams.config import TopicsConfig

__all__ = ["TOPIC_NAMES", "replay_topics", "resolve_topics"]

TOPIC_NAMES = (
    "raw_events",
    "events",
    "events_by_product",
    "catalogue",
    "dead_letters",
    "interventions",
    "concierge",
    "rewards",
    "decision_contexts",
    "policy_releases",
)
"""The ``TopicsConfig`` properties that name a topic."""


def resolve_topics(topics: TopicsConfig, names: str) -> list[str]:
    """Comma-separated ``TopicsConfig`` names or full topic names (with a dot) as topic names.

    >>> resolve_topics(TopicsConfig(), "raw_events, kairos.rewards.v1")
    ['kairos.events.raw.v1', 'kairos.rewards.v1']

    Raises:
        SettingsError: a name is neither.
    """
    out = []
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if "." in name:
            out.append(name)
        elif name in TOPIC_NAMES:
            out.append(getattr(topics, name))
        else:
            raise SettingsError(f"unknown topic {name!r}: use one of {', '.join(TOPIC_NAMES)} or a full topic name")
    return out


def replay_topics(production: TopicsConfig, namespace: str) -> TopicsConfig:
    """The replay's topics: the production layout in the namespace ``namespace``.

    >>> replay_topics(TopicsConfig(), "replay-1").interventions
    'replay-1.interventions.v1'

    Raises:
        SettingsError: ``namespace`` is the production namespace or empty (a replay never writes production topics).
    """
    if not namespace or namespace == production.namespace:
        raise SettingsError(f"a replay needs a namespace of its own, not {namespace!r}")
    return replace(production, namespace=namespace)
