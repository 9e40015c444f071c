"""The attribution stage's pure glue: a partition's dead letters, held records, restart ledger and settings."""

from __future__ import annotations

import pickle

from kairos.settings import AttributionSettings, load_settings
from schemas.codec import encode
from schemas.decisions import Decision
from schemas.errors import DeadLetterReason, PoisonMessageError
from schemas.rewards import RewardComponent
from streams.attribution import (
    AttributionConfig,
    AttributionPartition,
    ComponentRule,
    CreditRule,
    Intake,
    Outputs,
    SourceRecord,
)
from streams.features.windows import to_micros
from tests.unit.test_attribution_kit import Record, decision, impression, page_view, purchase

DECISIONS, EVENTS = "kairos.interventions.v1", "kairos.events.v1"
RULES = AttributionConfig(
    allowed_lateness_s=10.0,
    activation_timeout_s=30.0,
    satisfaction=ComponentRule(window_s=60.0),
    retention=ComponentRule(window_s=60.0, backward_s=0.0),
    penalty=ComponentRule(window_s=60.0),
)


def source(record: Record, offset: int) -> SourceRecord:
    topic = DECISIONS if isinstance(record, Decision) else EVENTS
    return SourceRecord(topic, 0, offset, encode(record), b"u1")


def feed(partition: AttributionPartition, records: list[Record], first_offset: int = 0) -> list[Outputs]:
    """Take each record, releasing after each one."""
    outputs = []
    for offset, record in enumerate(records, start=first_offset):
        partition.take(record, source(record, offset))
        outputs.append(partition.release())
    return outputs


def story() -> list[Record]:
    return [
        decision("d1", 0, window_s=60),
        impression("i1", 1, "d1"),
        impression("ghost", 2, "d-unknown"),
        purchase("p1", 5, token="d1"),
        page_view("clock", 500, session="s2"),
    ]


def test_rewards_and_an_unattributed_dead_letter_with_the_original_bytes_and_offset() -> None:
    partition = AttributionPartition(RULES)
    outputs = feed(partition, story())
    rewards = [r for o in outputs for r in o.rewards]
    assert {r.component for r in rewards} == {*RewardComponent}
    (rejection,) = [r for o in outputs for r in o.rejections]
    assert rejection.source == source(story()[2], 2)
    assert rejection.error.reason is DeadLetterReason.UNATTRIBUTED
    assert rejection.error.detail.startswith("unknown_decision: ")
    assert partition.next_offsets == {DECISIONS: 1, EVENTS: 5}


def test_held_records_are_dropped_once_they_can_no_longer_be_reported() -> None:
    partition = AttributionPartition(RULES)
    feed(partition, story()[:4])
    assert partition.held == 3  # both impressions and the purchase name a decision
    feed(partition, story()[4:], first_offset=4)
    assert partition.held == 0


def test_a_late_outcome_and_a_stale_decision_are_dead_lettered_as_late() -> None:
    partition = AttributionPartition(RULES)
    feed(partition, story())
    late = [impression("i-late", 3, "d1"), decision("d-stale", 1, window_s=60, user="u2")]
    assert [partition.take(r, source(r, 10 + i)) for i, r in enumerate(late)] == [Intake.LATE, Intake.LATE]
    rejections = partition.release().rejections
    late_letters = [(r.source.offset, r.error.reason) for r in rejections]
    assert late_letters == [(10, DeadLetterReason.LATE_EVENT), (11, DeadLetterReason.LATE_EVENT)]


def test_a_rejected_record_is_handed_out_once() -> None:
    partition = AttributionPartition(RULES)
    bad = SourceRecord(DECISIONS, 0, 7, b"{", None)
    partition.reject(bad, PoisonMessageError(DeadLetterReason.MALFORMED_JSON, "not JSON"))
    assert [r.source for r in partition.release().rejections] == [bad]
    assert partition.release().rejections == ()
    assert partition.next_offsets == {DECISIONS: 8}


def test_a_restart_from_a_checkpoint_publishes_nothing_the_ledger_holds_and_everything_else() -> None:
    records = story()
    partition = AttributionPartition(RULES)
    feed(partition, records[:2])
    checkpoint = pickle.dumps(partition)
    after = feed(partition, records[2:], first_offset=2)
    published = [r for o in after for r in o.rewards]
    letters = [r for o in after for r in o.rejections]
    assert published and letters

    restored: AttributionPartition = pickle.loads(checkpoint)
    for reward in published[:3]:  # the crash came after three rewards and no dead letter were acknowledged
        restored.ledger.saw_reward(reward.decision_id, reward.component.value, to_micros(reward.event_time))
    again = feed(restored, records[2:], first_offset=2)
    assert [r for o in again for r in o.rewards] == published[3:]
    assert [(r.source, r.error.detail) for o in again for r in o.rejections] == [
        (r.source, r.error.detail) for r in letters
    ]
    assert sum(o.suppressed_rewards for o in again) == 3
    assert len(restored.ledger) == 0


def test_the_ledger_forgets_what_the_state_can_no_longer_emit() -> None:
    partition = AttributionPartition(RULES)
    partition.ledger.saw_reward("d-old", "conversion", 0)
    partition.ledger.saw_rejection(EVENTS, 0, "late_event")
    feed(partition, [page_view("e", 100)], first_offset=3)
    assert len(partition.ledger) == 0


def test_settings_map_to_the_attribution_rules() -> None:
    assert AttributionSettings().rules() == AttributionConfig()
    settings = load_settings(
        {
            "KAIROS_ATTRIBUTION_CREDIT": "time_decay",
            "KAIROS_ATTRIBUTION_CONVERSION_WINDOW_S": "120",
            "KAIROS_ATTRIBUTION_RETENTION_WEIGHT": "0.0",
        }
    )
    rules = settings.attribution.rules()
    assert rules.credit is CreditRule.TIME_DECAY
    assert rules.conversion.window_s == 120.0 and rules.transaction_value.window_s is None
    assert rules.retention.weight == 0.0 and rules.retention.credit is CreditRule.EVERY
    assert settings.attribution.group(settings.topics) == "kairos-attribution"
