"""Prometheus metrics, one registry for the process, served on ``/metrics`` by the worker."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "ATTRIBUTION_PENDING",
    "ATTRIBUTION_RECORDS",
    "ATTRIBUTION_SUPPRESSED",
    "ATTRIBUTION_UNATTRIBUTED",
    "CONCIERGE_INTENT_ACCURACY",
    "CONCIERGE_MESSAGES",
    "CONCIERGE_QUEUE",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DEAD_LETTERS_TRUNCATED",
    "DEAD_LETTERS_UNDELIVERABLE",
    "DECISIONS",
    "DECISIONS_HELD_BACK",
    "DECISION_SECONDS",
    "FAIRNESS_DISCOUNTS",
    "FAIRNESS_GAP",
    "FAIRNESS_GROUP_DECISIONS",
    "FAIRNESS_SETTING",
    "FEATURE_EVENTS",
    "FEATURE_ROWS_WRITTEN",
    "FEATURE_WRITE_FAILURES",
    "FEATURE_WRITE_SECONDS",
    "GUARDRAILS",
    "INGEST_BATCH_SECONDS",
    "INGEST_EVENT_AGE_SECONDS",
    "INGEST_RECORDS",
    "LEARN_PROPOSALS",
    "LEARN_ROUNDS",
    "MODEL_METRIC",
    "POLICY_MODEL_VERSION",
    "REGISTRY",
    "REWARDS",
    "TEXT_SIGNALS",
    "TEXT_SIGNAL_SECONDS",
    "render",
]

REGISTRY = CollectorRegistry(auto_describe=True)

INGEST_RECORDS = Counter(
    "kairos_ingest_records",
    "Records seen by ingest, by outcome (valid, duplicate, dead, replayed, rekeyed)",
    ["outcome"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "kairos_dead_letters", "Records sent to the dead-letter topic", ["stage", "reason"], registry=REGISTRY
)
DEAD_LETTERS_TRUNCATED = Counter(
    "kairos_dead_letters_truncated",
    "Dead letters too large for the dead-letter topic, stored as a prefix with the original size and sha256",
    ["stage", "reason"],
    registry=REGISTRY,
)
DEAD_LETTERS_UNDELIVERABLE = Counter(
    "kairos_dead_letters_undeliverable",
    "Dead letters the broker never acknowledged after every retry: logged with their source coordinates, skipped",
    ["stage", "reason"],
    registry=REGISTRY,
)
INGEST_BATCH_SECONDS = Histogram(
    "kairos_ingest_batch_seconds",
    "Wall time to process, deliver and commit one ingest batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
INGEST_EVENT_AGE_SECONDS = Histogram(
    "kairos_ingest_event_age_seconds",
    "Processing time minus event time of the newest valid event of each batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
FEATURE_EVENTS = Counter(
    "kairos_feature_events",
    "Events seen by the feature stage, by outcome (applied, late)",
    ["outcome"],
    registry=REGISTRY,
)
FEATURE_ROWS_WRITTEN = Counter(
    "kairos_feature_rows_written", "Rows written to the Feast online store, by view", ["view"], registry=REGISTRY
)
FEATURE_WRITE_FAILURES = Counter(
    "kairos_feature_write_failures",
    "Feast online writes that failed transiently (store down); their rows stay pending and are retried with backoff",
    ["view"],
    registry=REGISTRY,
)
FEATURE_WRITE_SECONDS = Histogram(
    "kairos_feature_write_seconds",
    "Wall time of one coalesced Feast online write",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
MODEL_METRIC = Gauge(
    "kairos_model_metric",
    "Progressive-validation metrics of the River models (ROC AUC, log loss, label counts), per user partition",
    ["partition", "metric"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "kairos_decisions",
    "Decisions published, by policy source (triton, fallback) and intervention type",
    ["source", "action"],
    registry=REGISTRY,
)
DECISIONS_HELD_BACK = Counter(
    "kairos_decisions_held_back",
    "Decisions decided again after a restart but not published again: already on their topic",
    ["output"],
    registry=REGISTRY,
)
DECISION_SECONDS = Histogram(
    "kairos_decision_batch_seconds",
    "Wall time to prepare, score, guard, choose and publish one batch's decisions",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
GUARDRAILS = Counter(
    "kairos_guardrails",
    "Published decisions a guardrail masked candidates of, by rule and effect (blocked: only none was left; "
    "changed: it masked the candidate the policy scored highest; masked: other candidates only)",
    ["rule", "effect"],
    registry=REGISTRY,
)
FAIRNESS_SETTING = Gauge(
    "kairos_fairness_setting",
    "The discount-parity rule's settings (max_gap, min_decisions, window_s, group_lookup 1/0), labelled with the "
    "protected attribute ('' when the rule is off)",
    ["attribute", "setting"],
    registry=REGISTRY,
)
FAIRNESS_GROUP_DECISIONS = Gauge(
    "kairos_fairness_window_decisions",
    "Fairness monitor: decisions per group in its event-time window, per worker partition",
    ["partition", "group"],
    registry=REGISTRY,
)
FAIRNESS_DISCOUNTS = Gauge(
    "kairos_fairness_window_discounts",
    "Fairness monitor: discount offers per group in its event-time window, per worker partition",
    ["partition", "group"],
    registry=REGISTRY,
)
FAIRNESS_GAP = Gauge(
    "kairos_fairness_parity_gap",
    "Fairness monitor: highest minus lowest discount-offer rate among groups with min_decisions, per partition",
    ["partition"],
    registry=REGISTRY,
)
CONCIERGE_MESSAGES = Counter(
    "kairos_concierge_messages",
    "Concierge texts published, by source (rules, template, lm) and kind (interim, final)",
    ["source", "kind"],
    registry=REGISTRY,
)
CONCIERGE_QUEUE = Counter(
    "kairos_concierge_queue",
    "Language-model turns by outcome (submitted, rejected_queue_full, expired, follow_up, no_follow_up)",
    ["outcome"],
    registry=REGISTRY,
)
CONCIERGE_INTENT_ACCURACY = Gauge(
    "kairos_concierge_intent_accuracy",
    "Held-out accuracy of the concierge's intent and sentiment head (trained at start on the served encoder)",
    ["head"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "kairos_consumer_lag",
    "High watermark minus consumed position",
    ["stage", "topic", "partition"],
    registry=REGISTRY,
)


LEARN_ROUNDS = Counter(
    "kairos_learn_rounds",
    "Decision contexts joined with their final reward, by use (learned, held_out)",
    ["use"],
    registry=REGISTRY,
)
LEARN_PROPOSALS = Counter(
    "kairos_learn_proposals", "Promotion-gate runs, by verdict (promoted, kept)", ["verdict"], registry=REGISTRY
)
POLICY_MODEL_VERSION = Gauge(
    "kairos_policy_model_version",
    "The Triton model version of the policy this process serves (decide) or last promoted (learn)",
    ["role"],
    registry=REGISTRY,
)

REWARDS = Counter(
    "kairos_rewards",
    "Reward records published by the attribution stage, by component",
    ["component"],
    registry=REGISTRY,
)
ATTRIBUTION_RECORDS = Counter(
    "kairos_attribution_records",
    "Records seen by the attribution stage, by input (decision, event) and intake (accepted, duplicate, late, "
    "ignored, poison, replayed)",
    ["input", "intake"],
    registry=REGISTRY,
)
ATTRIBUTION_UNATTRIBUTED = Counter(
    "kairos_attribution_unattributed",
    "Outcomes and feedback no decision could take (dead-lettered as unattributed), by reason",
    ["reason"],
    registry=REGISTRY,
)
ATTRIBUTION_SUPPRESSED = Counter(
    "kairos_attribution_suppressed",
    "Outputs not published again after a restart because they were already on their topic, by output",
    ["output"],
    registry=REGISTRY,
)
ATTRIBUTION_PENDING = Gauge(
    "kairos_attribution_pending_decisions",
    "Decisions awaiting their rewards, per user partition",
    ["partition"],
    registry=REGISTRY,
)

TEXT_SIGNALS = Counter(
    "kairos_text_signals",
    "Chat texts read by the feature stage, by source (encoder, lexicon) and reason (ok, or why the lexicon stood in)",
    ["source", "reason"],
    registry=REGISTRY,
)
TEXT_SIGNAL_SECONDS = Histogram(
    "kairos_text_signal_seconds",
    "Feature stage: time waiting for kairos_intent per batch with chat texts (bounded by the deadline)",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25),
    registry=REGISTRY,
)


def render() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
