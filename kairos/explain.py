"""``kairos explain``: find one decision on the interventions topic and print it for a human."""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Message

from kairos.progress import track
from schemas.codec import StructDecoder
from schemas.decisions import Action, Decision
from schemas.errors import PoisonMessageError
from streams.config import KafkaConfig
from streams.reader import read_range, watermarks

__all__ = ["find_decision", "render_decision", "scan_topic"]


def find_decision(kafka: KafkaConfig, topic: str, partitions: int, decision_id: str) -> Decision | None:
    """The decision with ``decision_id`` on ``topic`` (a scan of every partition: an SRE tool, not a hot path).

    Records are streamed partition by partition (one consumer batch in memory at a time, whatever the topic's size)
    and the scan stops at the first match; a progress bar counts them on a terminal.
    """
    needle = decision_id.encode()
    for msg in track(scan_topic(kafka, topic, partitions), f"scanning {topic}", unit="rec"):
        value = msg.value() or b""
        if needle not in value:
            continue
        try:
            decision = _decode(value)
        except PoisonMessageError:
            continue
        if decision.decision_id == decision_id:
            return decision
    return None


def scan_topic(kafka: KafkaConfig, topic: str, partitions: int) -> Iterator[Message]:
    """Every record of ``topic``, partition by partition, as a stream (nothing is collected)."""
    for partition in range(partitions):
        low, _ = watermarks(kafka, topic, partition)
        yield from read_range(kafka, topic, partition, low)


_decode = StructDecoder(Decision).decode


def _action(action: Action) -> str:
    parts = [action.type.value]
    if action.product_id:
        parts.append(f"product={action.product_id}")
    if action.category:
        parts.append(f"category={action.category}")
    if action.discount_pct is not None:
        parts.append(f"discount={action.discount_pct:g}%")
    return " ".join(parts)


def render_decision(decision: Decision, *, top: int = 10) -> str:
    """A readable multi-line account of one decision: trigger, choice, policy, guardrails, candidates, why.

    >>> from schemas.examples import example_decision
    >>> print(render_decision(example_decision()).splitlines()[0])
    decision d-1
    """
    who = decision.user_id or f"anonymous {decision.anonymous_id}"
    lines = [
        f"decision {decision.decision_id}",
        f"  at        {decision.event_time.isoformat()}  (event time of the trigger)",
        f"  shopper   {who}  session {decision.session_id}",
        f"  trigger   {decision.trigger_event_type} {decision.trigger_event_id}",
        f"  action    {_action(decision.action)}",
        f"  propensity {decision.propensity:.4f}",
        f"  policy    {decision.policy_name} {decision.policy_version} via {decision.policy_source}",
        f"  features  version {decision.feature_version or '-'} hash {decision.feature_hash or '-'}",
        f"  window    {decision.attribution_window_s} s of attribution",
        f"  guardrails {', '.join(decision.guardrails) if decision.guardrails else 'none applied'}",
    ]
    if decision.arm:
        lines.append(f"  arm       {decision.arm}")
    ranked = sorted(decision.candidates, key=lambda c: -c.score)[:top]
    if ranked:
        lines.append(f"  candidates (top {len(ranked)} of {len(decision.candidates)} by score):")
        for c in ranked:
            mark = "*" if c.action == decision.action else " "
            lines.append(f"   {mark} {c.score:>10.4f}  p={c.propensity:.4f}  {_action(c.action)}")
    if decision.explanation:
        lines.append("  why (largest contributions first):")
        for f in decision.explanation:
            lines.append(f"     {f.contribution:>+10.4f}  {f.name} = {f.value:g}")
    return "\n".join(lines)
