"""The attribution stage on the real broker: decisions and outcomes in, the pure attributor's rewards out exactly once,
across a clean restart and a restart from a checkpoint older than the committed offsets (the crash window)."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agents.attribute import STAGE
from kairos.settings import AttributionSettings, Settings
from kairos.worker import attribution_loop
from schemas.codec import StructDecoder, encode
from schemas.deadletter import dead_letter_from_record
from schemas.decisions import Decision
from schemas.rewards import Reward, RewardComponent
from streams.attribution import Attributor
from streams.metrics import REGISTRY
from streams.reader import committed_total, read_topic
from tests.integration.kafka_io import produce_all
from tests.unit.test_attribution_kit import Record, decision, feed, impression, page_view, purchase

pytestmark = pytest.mark.integration

# Short windows and a lateness far wider than one phase's spread: a phase's records are never late whatever
# batches they arrive in, and its clock events (1000 s later) close every window of the phase.
RULES = AttributionSettings(
    allowed_lateness_s=600.0,
    activation_timeout_s=30.0,
    satisfaction_window_s=60.0,
    retention_window_s=60.0,
    penalty_window_s=60.0,
    checkpoint_every_s=3600.0,
)
PHASE_S = 2000.0
USERS_PER_PHASE = 8


def phase(k: int) -> tuple[list[Record], list[tuple[bytes, bytes]]]:
    """Phase ``k``'s records (in time order) and the extra raw records for the interventions topic.

    Every user gets a decision that is shown; even users buy with its token; every third user also gets a decision
    that is never shown; phase 1 adds an impression and a purchase naming decisions that do not exist and a
    malformed decision record.
    """
    base = k * PHASE_S
    records: list[Record] = []
    for i in range(USERS_PER_PHASE):
        user, session = f"u{k}-{i}", f"s{k}-{i}"
        d = f"d{k}-{i}"
        records += [decision(d, base, user=user, session=session, window_s=60)]
        records += [impression(f"i{k}-{i}", base + 1, d, user=user, session=session)]
        if i % 2 == 0:
            bought = purchase(f"p{k}-{i}", base + 10, user=user, session=session, token=d)
            records += [bought, bought]  # a duplicate: credited once
        if i % 3 == 0:
            records += [decision(f"{d}-unseen", base + 2, user=user, session=session, window_s=60)]
    malformed: list[tuple[bytes, bytes]] = []
    if k == 1:
        records += [impression(f"ghost-{k}", base + 5, "d-never-made", user=f"u{k}-0", session=f"s{k}-0")]
        records += [purchase(f"lonely-{k}", base + 12, user="u-lonely", session="s-lonely", token="d-missing")]
        malformed.append((f"u{k}-1".encode(), b"{not json"))
    users = sorted({r.user_id for r in records if r.user_id is not None})
    records += [page_view(f"clock-{k}-{u}", base + 1000, user=u, session=f"later-{u}") for u in users]
    records.sort(key=lambda r: r.event_time)
    return records, malformed


def produce(settings: Settings, records: list[Record], malformed: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Produce decisions and events keyed by user; returns how many records went to each topic."""
    topics = settings.topics
    decisions = [(r.user_id.encode(), encode(r)) for r in records if isinstance(r, Decision) and r.user_id]
    events = [(r.user_id.encode(), encode(r)) for r in records if not isinstance(r, Decision) and r.user_id]
    produce_all(settings.kafka, topics.interventions, [*decisions, *malformed])
    produce_all(settings.kafka, topics.events, events)
    return len(decisions) + len(malformed), len(events)


def run_stage(settings: Settings, decisions: int, events: int, *, timeout_s: float = 60) -> None:
    """Run the stage until its group has committed this many records of each input, then stop it cleanly."""
    topics, group = settings.topics, settings.attribution.group(settings.topics)
    loop = attribution_loop(settings)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while (
        committed_total(settings.kafka, group, topics.interventions, topics.partitions) < decisions
        or committed_total(settings.kafka, group, topics.events, topics.partitions) < events
    ):
        assert time.monotonic() < deadline, "the attribution stage did not catch up"
        assert thread.is_alive(), "the attribution stage died"
        time.sleep(0.2)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()


def suppressed() -> float:
    return sum(
        REGISTRY.get_sample_value("kairos_attribution_suppressed_total", {"output": output}) or 0.0
        for output in ("reward", "dead_letter")
    )


def test_rewards_exactly_once_across_a_clean_restart_and_a_stale_checkpoint(topics: Settings) -> None:
    settings = dataclasses.replace(topics, attribution=RULES)
    checkpoints = Path(settings.worker.data_dir) / "checkpoints" / STAGE
    phases = [phase(k) for k in range(3)]
    totals = [0, 0]

    def run_phase(k: int) -> None:
        added = produce(settings, *phases[k])
        totals[0], totals[1] = totals[0] + added[0], totals[1] + added[1]
        run_stage(settings, totals[0], totals[1])

    run_phase(0)
    shutil.copytree(checkpoints, checkpoints.with_name("phase0"))
    run_phase(1)  # a clean restart from phase 0's checkpoints
    # As if the worker died after phase 1's offsets were committed but before its checkpoints were written: phase 3
    # restores phase 0's state, replays phase 1 and must not publish its rewards and dead letters again.
    shutil.rmtree(checkpoints)
    shutil.copytree(checkpoints.with_name("phase0"), checkpoints)
    before = suppressed()
    run_phase(2)
    assert suppressed() > before, "the replay re-emitted nothing: the exactly-once path was not exercised"

    topic_rewards = [
        StructDecoder(Reward).decode(m.value() or b"")
        for m in read_topic(settings.kafka, settings.topics.rewards, settings.topics.partitions)
    ]
    keys = Counter((r.decision_id, r.component) for r in topic_rewards)
    assert [key for key, n in keys.items() if n > 1] == []

    reference = Attributor(RULES.rules())
    for records, _ in phases:
        for record in records:
            feed(reference, record)
    expected = reference.drain().rewards
    assert {(r.reward_id, r.value) for r in topic_rewards} == {(r.reward_id, r.value) for r in expected}
    conversions = {r.decision_id: r.value for r in topic_rewards if r.component is RewardComponent.CONVERSION}
    assert conversions["d0-0"] == 1.0 and conversions["d0-1"] == 0.0
    unseen = {r.component for r in topic_rewards if r.decision_id == "d2-0-unseen"}
    assert unseen == {RewardComponent.COMPOSITE, RewardComponent.EARLY}  # never shown: the same value twice

    letters = [
        dead_letter_from_record(m.key(), m.value(), m.headers())
        for m in read_topic(settings.kafka, settings.topics.dead_letters, settings.topics.partitions)
    ]
    ours = [letter for letter in letters if letter.stage == STAGE]
    assert Counter(letter.reason for letter in ours) == {"malformed_json": 1, "unattributed": 2}
    unattributed = {letter.raw for letter in ours if letter.reason == "unattributed"}
    named_nothing = {"ghost-1", "lonely-1"}
    assert unattributed == {
        encode(r) for r in phases[1][0] if not isinstance(r, Decision) and r.event_id in named_nothing
    }
    assert all(letter.detail.startswith("unknown_decision") for letter in ours if letter.reason == "unattributed")
