"""Stream plumbing: broker, topics, the batch loop, ingest routing, dead letters, provenance and metrics."""

from streams.config import BrokerConfig, IngestConfig, KafkaConfig, TopicsConfig
from streams.dedup import DedupWindow
from streams.ingest import ClockRules, Ingestor, Verdict

__all__ = [
    "BrokerConfig",
    "ClockRules",
    "DedupWindow",
    "IngestConfig",
    "Ingestor",
    "KafkaConfig",
    "TopicsConfig",
    "Verdict",
]
