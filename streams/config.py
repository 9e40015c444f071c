"""Configuration sections owned by the streams layer: broker connection, topics, ingest, embedded broker."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BrokerConfig", "IngestConfig", "KafkaConfig", "TopicsConfig"]


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    """How every Kairos client reaches the Kafka-protocol broker (Tansu here, Apache Kafka in production)."""

    bootstrap: str = "127.0.0.1:9092"
    client_id: str = "kairos"
    # Tansu's first group join waits ~session.timeout/2 (STACK.md); 6 s keeps joins short and still safe.
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    linger_ms: int = 1
    # Tansu answers a fetch at the end of its wait even when records arrive during it (measured per hop: p50 16 ms
    # at 50 ms, 6 ms at 5 ms; docs/broker.md). Apache Kafka's long poll wakes on new data: 100-500 ms is fine there.
    fetch_wait_max_ms: int = 5
    compression: str = "lz4"
    # Every Kairos producer partitions with murmur2 (the Java client's and aiokafka's default), so a key lands on
    # the same partition whichever client wrote it.
    partitioner: str = "murmur2_random"


@dataclass(frozen=True, slots=True)
class TopicsConfig:
    """Topic names and layout. ``namespace`` isolates a deployment (replays run in their own namespace)."""

    namespace: str = "kairos"
    partitions: int = 4
    replication_factor: int = 1
    events_retention_ms: int = 7 * 24 * 3600 * 1000
    dead_letter_retention_ms: int = 30 * 24 * 3600 * 1000

    def name(self, stem: str) -> str:
        """``stem`` inside this namespace, e.g. ``kairos.events.v1``."""
        return f"{self.namespace}.{stem}"

    @property
    def raw_events(self) -> str:
        """Where publishers write clickstream events (unvalidated)."""
        return self.name("events.raw.v1")

    @property
    def events(self) -> str:
        """Validated, de-duplicated events, partition-aligned with ``raw_events``."""
        return self.name("events.v1")

    @property
    def events_by_product(self) -> str:
        """Product views, adds to cart and purchases re-keyed by product id, for product-wide features."""
        return self.name("events.by-product.v1")

    @property
    def catalogue(self) -> str:
        """The shop's product catalogue (compacted, keyed by product id), published by the platform."""
        return self.name("catalogue.v1")

    @property
    def dead_letters(self) -> str:
        """Records that could not be processed: raw bytes as the value, reason in headers."""
        return self.name("deadletter.v1")

    @property
    def interventions(self) -> str:
        """Decisions published for the shop's front end."""
        return self.name("interventions.v1")

    @property
    def concierge(self) -> str:
        """Concierge texts for concierge decisions (template at once, the language model's reply later)."""
        return self.name("concierge.v1")

    @property
    def rewards(self) -> str:
        """Attributed rewards, joined to the decisions that earned them."""
        return self.name("rewards.v1")

    @property
    def decision_contexts(self) -> str:
        """What the policy scored for each decision (state, candidate vectors, mask), for the learner."""
        return self.name("decision_contexts.v1")

    @property
    def policy_releases(self) -> str:
        """Promoted policy versions with their weights (compacted, keyed by policy name), for every worker."""
        return self.name("policy.v1")


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """The ingest stage: decode, validate, de-duplicate and route."""

    group_id: str = "kairos-ingest"
    batch_size: int = 5000
    poll_timeout_s: float = 0.005
    max_event_bytes: int = 64 * 1024
    # De-duplication keeps the ids of the last ``dedup_capacity`` records of each partition, evicting ids older
    # than ``dedup_window_s`` of event time behind the partition's watermark.
    dedup_capacity: int = 100_000
    dedup_window_s: float = 3600.0
    max_future_skew_s: float = 300.0
    max_past_skew_s: float = 7 * 24 * 3600.0
    # The clock the skew checks compare event times with: ``wall`` (processing time) or ``records`` (each record's
    # own log timestamp: a replay of an old log routes as it was routed when it arrived, with no wall-clock reads).
    clock: str = "wall"
    # How many output records after the last commit a restart re-reads to find what was already emitted.
    recovery_tail: int = 20_000


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """The embedded Tansu broker started by ``kairos broker`` (development and tests only)."""

    host: str = "127.0.0.1"
    port: int = 9092
    storage: str = "memory://tansu/"
    binary: str = ""
