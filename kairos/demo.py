"""``kairos demo``: the whole loop as far as it exists, on the embedded stack, closed by the shopper simulator.

Starts Tansu, the embedded Triton server (policy + text encoder; the concierge LM is not loaded until the concierge
agent uses it) and a worker as child processes, creates the topics, runs the simulator (with a share of malformed
and duplicate records; it reacts to the interventions the worker publishes), waits until ingest has committed every
record, checks that exactly the valid events came out, exactly the malformed ones were dead-lettered, features
reached Feast and every trigger got one decision, prints a report (and writes it as HTML with the live page's
figures over the run) and stops everything by PID.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kairos.explain import render_decision
from kairos.processes import start_worker
from kairos.progress import ProgressBar, progress
from kairos.serving import prepare_repository, triton_config
from kairos.settings import Settings
from kairos.simulate import report_summary, simulate_to_kafka
from kairos.web.run_reports import write_demo_report
from kairos.web.sampler import MetricsSampler
from schemas.codec import EventDecoder, StructDecoder
from schemas.concierge import ConciergeMessage
from schemas.deadletter import dead_letter_from_record
from schemas.decisions import Decision, InterventionType
from schemas.events import Purchase
from schemas.rewards import Reward
from serving.inference import start_triton
from streams.broker import free_port, start_broker
from streams.reader import committed_total, read_topic
from streams.topics import ensure_topics, topic_specs

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def _committed(settings: Settings) -> int:
    topics = settings.topics
    return committed_total(settings.kafka, settings.ingest.group_id, topics.raw_events, topics.partitions)


def _features_report(settings: Settings, events: list[Any], deadline: float) -> dict[str, Any]:
    """Wait for the feature stage to apply every event, then read buyers' features back from Feast."""
    from featurestore.reader import FeastSdkReader
    from featurestore.store import open_store
    from kairos.worker import feature_store_config

    topics = settings.topics
    group = f"{topics.namespace}-features"
    done = committed_total(settings.kafka, group, topics.events, topics.partitions)
    while done < len(events) and time.monotonic() < deadline:
        time.sleep(0.5)
        done = committed_total(settings.kafka, group, topics.events, topics.partitions)
    by_product = len(read_topic(settings.kafka, topics.events_by_product, topics.partitions))
    product_group = f"{topics.namespace}-product-features"
    while (
        committed_total(settings.kafka, product_group, topics.events_by_product, topics.partitions) < by_product
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    time.sleep(2.5)  # the coalescing writers write to Feast every second
    decoder = EventDecoder()
    purchases = [e for e in (decoder.decode(m.value() or b"") for m in events) if isinstance(e, Purchase)]
    buyers = sorted({e.partition_key for e in purchases})[:10]
    bought = sorted({item.product_id for e in purchases for item in e.items})[:25]
    reader = FeastSdkReader(open_store(feature_store_config(settings)))
    rows = {buyer: reader.read(buyer, "", [])["user"] for buyer in buyers}
    products = reader.read("", "", bought)["products"]
    return {
        "products_checked": len(products),
        "bought_products_with_price_in_feast": sum(
            1 for row in products.values() if isinstance(p := row.get("price"), float) and p > 0
        ),
        "events": len(events),
        "committed": done,
        "buyers_checked": len(rows),
        "buyers_with_purchase_count": sum(
            1 for row in rows.values() if isinstance(n := row.get("purchase_count"), int) and n > 0
        ),
        "sample": next(iter(rows.items()), None),
    }


_TRIGGERS = frozenset({"product_view", "add_to_cart", "exit_intent", "chat_message", "checkout_start"})


def _decisions_report(settings: Settings, events: list[Any]) -> dict[str, Any]:
    """Every decision on the interventions topic, against the trigger events that asked for one."""
    topics = settings.topics
    decode = StructDecoder(Decision).decode
    decisions = [decode(m.value() or b"") for m in read_topic(settings.kafka, topics.interventions, topics.partitions)]
    decoder = EventDecoder()
    triggers = {e.event_id for e in (decoder.decode(m.value() or b"") for m in events) if e.event_type in _TRIGGERS}
    decided = Counter(d.trigger_event_id for d in decisions)
    interventions = [d for d in decisions if d.action.type is not InterventionType.NONE]
    sample = next(
        (d for d in interventions if d.policy_source == "triton"), interventions[0] if interventions else None
    )
    return {
        "decisions": len(decisions),
        "triggers": len(triggers),
        "triggers_decided": len(triggers & decided.keys()),
        "decided_twice": sum(1 for n in decided.values() if n > 1),
        "by_source": dict(Counter(d.policy_source for d in decisions)),
        "by_action": dict(sorted(Counter(d.action.type.value for d in decisions).items())),
        "guardrails_applied": dict(Counter(g for d in decisions for g in d.guardrails).most_common()),
        "fallback_rate": round(sum(d.policy_source == "fallback" for d in decisions) / max(1, len(decisions)), 4),
        "explain_sample": render_decision(sample, top=5).splitlines() if sample is not None else [],
    }


def _concierge_report(settings: Settings, deadline: float) -> dict[str, Any]:
    """Concierge texts against the concierge decisions (waits up to ``deadline`` for the language model's replies)."""
    topics = settings.topics
    decode = StructDecoder(Decision).decode
    wanted = {
        d.decision_id
        for d in (decode(m.value() or b"") for m in read_topic(settings.kafka, topics.interventions, topics.partitions))
        if d.action.type is InterventionType.CONCIERGE_MESSAGE
    }
    read_message = StructDecoder(ConciergeMessage).decode
    while True:
        messages = [
            read_message(m.value() or b"") for m in read_topic(settings.kafka, topics.concierge, topics.partitions)
        ]
        pending = {m.decision_id for m in messages if not m.final} - {m.decision_id for m in messages if m.final}
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    lm = [m for m in messages if m.source == "lm"]
    return {
        "concierge_decisions": len(wanted),
        "messages_by_source": dict(Counter(m.source for m in messages)),
        "decisions_without_text": len(wanted - {m.decision_id for m in messages}),
        "without_disclosure": sum(1 for m in messages if not m.disclosure),
        "awaiting_model_at_report": len(pending),
        "sample_template": next((m.text for m in messages if m.source != "lm"), None),
        "sample_lm": lm[0].text if lm else None,
    }


_ATTRIBUTION_STAGE = "attribute"


def _demo_attribution(settings: Settings) -> Settings:
    """Windows short enough to close within the demo's simulated minutes (defaults: 30 min to 7 days)."""
    rules = replace(
        settings.attribution,
        allowed_lateness_s=30.0,
        activation_timeout_s=60.0,
        satisfaction_window_s=120.0,
        retention_window_s=120.0,
        penalty_window_s=120.0,
    )
    return replace(settings, attribution=rules)


def _demo_learning(settings: Settings) -> Settings:
    """The learner on, with a proposal cadence that fits the demo's few hundred rewarded decisions, and the served
    policy deciding from the first trigger (``decide.first_policy = served``): a deployment starts from the exploring
    rules until a learned version beats them, which a ten-minute run does not reach, and the demo shows the Triton
    path; its gate verdicts (against the serving version and the rules) are in the report."""
    learn = replace(settings.learn, enabled=True, propose_every=150, propose_interval_s=30.0, min_samples=60)
    return replace(settings, learn=learn, decide=replace(settings.decide, first_policy="served"))


def _learning_report(metrics: str) -> dict[str, Any]:
    """What the learner did, from ``/metrics``: rounds joined (learned / held out), gate verdicts, versions."""
    return {
        "rounds": _gauge(metrics, "kairos_learn_rounds_total"),
        "proposals": _gauge(metrics, "kairos_learn_proposals_total"),
        "policy_model_version": _gauge(metrics, "kairos_policy_model_version"),
    }


def _rewards_report(settings: Settings, deadline: float) -> dict[str, Any]:
    """Rewards on ``kairos.rewards.v1`` once the attribution stage has committed both inputs (or at ``deadline``)."""
    topics = settings.topics
    group = settings.attribution.group(topics)
    wanted = {
        topic: sum(1 for _ in read_topic(settings.kafka, topic, topics.partitions))
        for topic in (topics.interventions, topics.events)
    }
    while settings.attribution.enabled and time.monotonic() < deadline:
        done = {t: committed_total(settings.kafka, group, t, topics.partitions) for t in wanted}
        if all(done[t] >= n for t, n in wanted.items()):
            break
        time.sleep(0.5)
    decode = StructDecoder(Reward).decode
    rewards = [decode(m.value() or b"") for m in read_topic(settings.kafka, topics.rewards, topics.partitions)]
    once = Counter((r.decision_id, r.component) for r in rewards)
    return {
        "rewards": len(rewards),
        "by_component": dict(sorted(Counter(r.component.value for r in rewards).items())),
        "decisions_rewarded": len({r.decision_id for r in rewards}),
        "published_twice": sum(1 for n in once.values() if n > 1),
        "windows_s": {
            "satisfaction": settings.attribution.satisfaction_window_s,
            "retention": settings.attribution.retention_window_s,
            "penalty": settings.attribution.penalty_window_s,
            "lateness": settings.attribution.allowed_lateness_s,
        },
    }


def _metrics_after_learning(read: Callable[[], str], deadline: float) -> str:
    """``/metrics`` once the learner has joined some rewards with their contexts (or at ``deadline``)."""
    metrics = read()
    while not _gauge(metrics, "kairos_learn_rounds_total") and time.monotonic() < deadline:
        time.sleep(0.5)
        metrics = read()
    return metrics


def _gauge(metrics: str, name: str) -> dict[str, float]:
    """One labelled gauge from ``/metrics`` text, by its (only) label's value."""
    out: dict[str, float] = {}
    for line in metrics.splitlines():
        match = re.match(rf'^{name}{{[a-z_]+="([^"]+)"}} (\S+)$', line)
        if match is not None:
            out[match[1]] = round(float(match[2]), 4)
    return out


_MODEL_METRIC = re.compile(r'^kairos_model_metric\{metric="([^"]+)",partition="(\d+)"\} (\S+)$')


def _model_metrics(metrics: str) -> dict[str, dict[str, float]]:
    """The River models' progressive metrics from ``/metrics``, per metric and partition."""
    out: dict[str, dict[str, float]] = {}
    for line in metrics.splitlines():
        match = _MODEL_METRIC.match(line)
        if match is not None:
            out.setdefault(match[1], {})[match[2]] = round(float(match[3]), 4)
    return out


_PHASES = (
    "simulating shoppers",
    "waiting for ingest",
    "waiting for features",
    "waiting for concierge texts",
    "waiting for rewards",
    "waiting for the learner",
    "writing the report",
)


def _phase(bar: ProgressBar, name: str) -> None:
    """Mark the previous phase done and show the next (a terminal bar; silent otherwise)."""
    bar.update(1)
    bar.set_description_str(f"demo: {name}")


def run_demo(settings: Settings, *, shoppers: int, duration_s: float, seed: int, speed: float) -> dict[str, Any]:
    """Run the demo and return its report (also the CLI's output)."""
    # A fresh directory per run: the broker is in-memory, so state checkpointed by an earlier run (feature state,
    # the Feast registry and rows) would describe topics that no longer exist.
    run_dir = Path(settings.worker.data_dir) / "demo" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    broker_config = settings.broker
    if not _port_free(broker_config.host, broker_config.port):
        broker_config = replace(broker_config, port=free_port(broker_config.host))
        logger.warning("port %s busy; the demo broker uses %s", settings.broker.port, broker_config.port)
    broker = start_broker(broker_config, log_path=run_dir / "tansu.log")
    settings = replace(
        settings,
        broker=broker_config,
        kafka=replace(settings.kafka, bootstrap=broker.bootstrap),
        worker=replace(settings.worker, web_port=free_port(settings.worker.web_host), data_dir=str(run_dir)),
    )
    worker = triton = None
    sampler: MetricsSampler | None = None
    bar = progress("demo: starting the broker, Triton and the worker", total=len(_PHASES) + 1, unit="phase")
    try:
        settings = replace(settings, serving=replace(settings.serving, repository=str(run_dir / "triton" / "models")))
        settings = _demo_learning(_demo_attribution(settings))
        prepare_repository(settings)
        triton = start_triton(triton_config(settings, free_ports=True), run_dir / "triton.log")
        settings = replace(settings, serving=replace(settings.serving, triton_url=triton.grpc_url))
        ensure_topics(settings.kafka, topic_specs(settings.topics))
        worker = start_worker(settings, run_dir / "worker.log")
        sampler = MetricsSampler(worker.metrics).start()  # the report's figures over the whole run
        logger.info(
            "stack up: broker pid=%s triton pid=%s worker pid=%s metrics=%s",
            broker.pid,
            triton.pid,
            worker.pid,
            worker.metrics_url,
        )
        _phase(bar, "simulating shoppers")
        report = simulate_to_kafka(
            settings,
            shoppers=shoppers,
            duration_s=duration_s,
            seed=seed,
            speed=speed,
            malformed_rate=0.02,
            duplicate_rate=0.01,
            truth_path=run_dir / "truth.jsonl",
        )
        _phase(bar, "waiting for ingest")
        produced = sum(report.records_by_kind.values())
        deadline = time.monotonic() + 120
        while _committed(settings) < produced and time.monotonic() < deadline:
            time.sleep(0.5)
        committed = _committed(settings)
        events = read_topic(settings.kafka, settings.topics.events, settings.topics.partitions)
        decoder = EventDecoder()
        event_ids = Counter(decoder.decode(m.value() or b"").event_id for m in events)
        letters = [
            dead_letter_from_record(m.key(), m.value(), m.headers())
            for m in read_topic(settings.kafka, settings.topics.dead_letters, settings.topics.partitions)
        ]
        dead = Counter(letter.reason for letter in letters if letter.stage != _ATTRIBUTION_STAGE)
        _phase(bar, "waiting for features")
        features = _features_report(settings, events, deadline=time.monotonic() + 120)
        decisions = _decisions_report(settings, events)
        _phase(bar, "waiting for concierge texts")
        concierge = _concierge_report(settings, deadline=time.monotonic() + 30)
        _phase(bar, "waiting for rewards")
        rewards = _rewards_report(settings, deadline=time.monotonic() + 60)
        attribution_letters = [
            letter
            for m in read_topic(settings.kafka, settings.topics.dead_letters, settings.topics.partitions)
            if (letter := dead_letter_from_record(m.key(), m.value(), m.headers())).stage == _ATTRIBUTION_STAGE
        ]
        rewards["dead_letters_by_reason"] = dict(Counter(letter.reason for letter in attribution_letters))
        _phase(bar, "waiting for the learner")
        metrics = _metrics_after_learning(worker.metrics, deadline=time.monotonic() + 30)
        learning = _learning_report(metrics)
        checks = {
            "every_record_committed": committed == produced,
            "valid_events_exactly_once": set(event_ids) == set(report.valid_event_ids)
            and sum(event_ids.values()) == len(report.valid_event_ids),
            "dead_letters_match_injected": dict(dead) == report.expected_dead_letters,
            "features_caught_up": features["committed"] == features["events"],
            "buyers_have_purchase_features_in_feast": features["buyers_checked"] > 0
            and features["buyers_with_purchase_count"] == features["buyers_checked"],
            "bought_products_in_feast": features["products_checked"] > 0
            and features["bought_products_with_price_in_feast"] == features["products_checked"],
            "every_trigger_decided_once": decisions["triggers_decided"] == decisions["triggers"]
            and decisions["decided_twice"] == 0,
            "decisions_served_by_triton": decisions["by_source"].get("triton", 0) > 0,
            "simulator_saw_interventions": report.interventions_applied > 0,
            "every_concierge_decision_has_a_text": concierge["decisions_without_text"] == 0,
            "every_concierge_text_discloses_ai": concierge["without_disclosure"] == 0,
            "rewards_once_per_decision_and_component": rewards["published_twice"] == 0,
            "learner_joined_rewards": sum(learning["rounds"].values()) > 0,
        }
        result = {
            "demo": "simulated shoppers -> ingest (validate/dedupe, dead letters) -> features (hot copy + Feast) -> "
            "decisions (Triton policy, guardrails) -> shoppers react",
            "bootstrap": settings.kafka.bootstrap,
            "simulation": report_summary(report),
            "ingest": {
                "records_in": produced,
                "committed": committed,
                "events_out": sum(event_ids.values()),
                "dead_letters_by_reason": dict(sorted(dead.items())),
                "duplicates_dropped": produced - sum(event_ids.values()) - sum(dead.values()),
            },
            "features": features,
            "decisions": decisions,
            "concierge": {**concierge, "intent_head": _gauge(metrics, "kairos_concierge_intent_accuracy")},
            "rewards": rewards,
            "learning": learning,
            "models": _model_metrics(metrics),
            "metrics_sample": [line for line in metrics.splitlines() if line.startswith("kairos_dead_letters_total")],
            "checks": checks,
            "ok": all(checks.values()),
            "logs": str(run_dir),
        }
        _phase(bar, "writing the report")
        result["report"] = str(write_demo_report(run_dir / "report.html", result, sampler.stop()))
        bar.update(1)
        return result
    finally:
        bar.close()
        if sampler is not None:
            sampler.stop()
        if worker is not None:
            worker.stop()
        if triton is not None:
            triton.stop()
        broker.stop()
