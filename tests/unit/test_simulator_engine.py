"""The discrete-event engine: determinism, timing, wire validity, bad-input labels, duplicates, decisions."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from schemas.codec import EventDecoder
from schemas.errors import PoisonMessageError
from simulator import (
    DEAD_LETTER_REASONS,
    Intervention,
    SimRecord,
    Simulation,
    SimulationConfig,
    SimulatorConfigError,
)
from tests.unit.sim_policy import RULE_TRIGGERS, apply_rule

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DECODER = EventDecoder()


def run(config: SimulationConfig, step: float = 60.0) -> list[SimRecord]:
    sim = Simulation(config)
    out: list[SimRecord] = []
    t = 0.0
    while sim.now < sim.end:
        t += step
        out.extend(sim.advance(t))
    return out


def config(**overrides: object) -> SimulationConfig:
    base: dict[str, object] = {"shoppers": 150, "duration_s": 3600.0, "seed": 7, "start_time": START}
    base.update(overrides)
    return SimulationConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def dirty() -> list[SimRecord]:
    return run(config(shoppers=300, malformed_rate=0.05, duplicate_rate=0.05))


def test_same_seed_gives_identical_bytes() -> None:
    a, b = run(config()), run(config(), step=7.0)
    assert len(a) > 500
    assert [(r.key, r.value, r.kind) for r in a] == [(r.key, r.value, r.kind) for r in b]


def test_different_seeds_differ() -> None:
    a, b = run(config(seed=1)), run(config(seed=2))
    assert {r.event_id for r in a}.isdisjoint({r.event_id for r in b})
    assert [r.value for r in a[:50]] != [r.value for r in b[:50]]


def test_faults_do_not_change_the_valid_stream(dirty: list[SimRecord]) -> None:
    clean = run(config(shoppers=300))
    assert [r.value for r in clean] == [r.value for r in dirty if r.kind == "valid"]


def test_records_are_in_due_order_and_never_after_the_end(dirty: list[SimRecord]) -> None:
    times = [r.sim_time for r in dirty]
    assert times == sorted(times)
    assert max(times) <= 3600.0
    end = START + timedelta(seconds=3600)
    assert all(r.event_time <= end for r in dirty if r.expected_reason != "clock_skew_future")


def test_event_times_are_monotone_per_session() -> None:
    by_session: dict[str, list[datetime]] = defaultdict(list)
    for record in run(config(shoppers=300)):
        event = DECODER.decode(record.value)
        by_session[event.session_id].append(event.event_time)
    assert len(by_session) > 250
    for times in by_session.values():
        assert times == sorted(times)


def test_sessions_start_with_a_landing_and_end_once() -> None:
    by_session: dict[str, list[str]] = defaultdict(list)
    for record in run(config(duration_s=4 * 3600.0)):
        assert record.event_type is not None and record.session_id is not None
        by_session[record.session_id].append(record.event_type)
    assert len(by_session) > 150  # returns and return-to-buy visits add sessions
    for session_kinds in by_session.values():
        # The consent banner of a shopper's first visit comes first.
        kinds = session_kinds[1:] if session_kinds[0] == "consent_update" else session_kinds
        assert kinds[0] in {"page_view", "product_view", "search"}
        assert kinds.count("session_end") <= 1
        if "session_end" in kinds:
            assert kinds[-1] == "session_end"
        assert kinds.count("purchase") <= 1


def test_every_valid_record_decodes_with_the_ingest_decoder(dirty: list[SimRecord]) -> None:
    valid = [r for r in dirty if r.kind == "valid"]
    for record in valid:
        event = DECODER.decode(record.value)
        assert event.event_id == record.event_id
        assert event.event_type == record.event_type
        assert event.event_time == record.event_time
        assert record.key == event.partition_key.encode()
    assert len({r.event_id for r in valid}) == len(valid)
    assert {r.event_type for r in valid} >= {"page_view", "product_view", "add_to_cart", "session_end"}


def test_each_malformed_record_fails_with_its_expected_reason(dirty: list[SimRecord]) -> None:
    malformed = [r for r in dirty if r.kind == "malformed"]
    reasons = Counter(r.expected_reason for r in malformed)
    assert set(reasons) == set(DEAD_LETTER_REASONS)
    for record in malformed:
        if record.expected_reason == "clock_skew_future":
            event = DECODER.decode(record.value)  # decodes: ingest rejects it by comparing with its clock
            produced_at = START + timedelta(seconds=record.sim_time)
            assert event.event_time - produced_at >= timedelta(hours=23, minutes=59)
            continue
        with pytest.raises(PoisonMessageError) as caught:
            DECODER.decode(record.value)
        assert caught.value.reason.value == record.expected_reason, record.value[:200]


def test_malformed_rate_is_honoured(dirty: list[SimRecord]) -> None:
    kinds = Counter(r.kind for r in dirty)
    assert 0.035 < kinds["malformed"] / kinds["valid"] < 0.065


def test_duplicates_resend_exact_bytes_of_earlier_valid_records(dirty: list[SimRecord]) -> None:
    first_seen: dict[str, SimRecord] = {}
    duplicates = 0
    for record in dirty:
        if record.kind == "valid":
            first_seen[record.event_id or ""] = record
        elif record.kind == "duplicate":
            duplicates += 1
            original = first_seen[record.event_id or ""]  # sent before its duplicate
            assert (original.key, original.value) == (record.key, record.value)
            assert record.sim_time >= original.sim_time
    valid = len(first_seen)
    assert 0.035 < duplicates / valid < 0.065


def test_summary_counts_match_the_records(dirty: list[SimRecord]) -> None:
    sim = Simulation(config(shoppers=300, malformed_rate=0.05, duplicate_rate=0.05))
    records = sim.advance(3600.0)
    summary = sim.summary()
    assert summary.records_by_kind == dict(sorted(Counter(r.kind for r in records).items()))
    assert summary.malformed_by_reason == dict(
        sorted(Counter(r.expected_reason for r in records if r.expected_reason).items())
    )
    assert sum(summary.events_by_type.values()) == summary.records_by_kind["valid"]
    assert summary.purchases == summary.events_by_type.get("purchase", 0)
    assert 0.0 < summary.conversion_rate < 0.3


def test_advance_is_idempotent_past_the_end() -> None:
    sim = Simulation(config())
    assert sim.advance(10_000.0)
    assert sim.advance(20_000.0) == []
    assert sim.now == 3600.0


@pytest.mark.parametrize(
    "bad",
    [
        {"shoppers": 0},
        {"duration_s": 0.0},
        {"malformed_rate": 1.5},
        {"duplicate_rate": -0.1},
        {"categories": 0},
        {"start_time": datetime(2026, 1, 1)},  # naive
    ],
)
def test_config_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(SimulatorConfigError):
        config(**bad)


def _policy_run(seed: int) -> tuple[list[bytes], dict[str, str | None]]:
    """A fixed rule: a discount on every exit intent, an upsell after every add to cart."""
    sim = Simulation(config(seed=seed, shoppers=200))
    values: list[bytes] = []
    t, n = 0.0, 0
    while sim.now < sim.end:
        t += 5.0
        for record in sim.advance(t):
            values.append(record.value)
            if record.event_type in RULE_TRIGGERS:
                n += 1
                apply_rule(sim, record, DECODER.decode(record.value), n)
    return values, {d: e.reaction for d, e in sim.truth.items()}


def test_same_seed_and_interventions_give_identical_records() -> None:
    a_values, a_reactions = _policy_run(3)
    b_values, b_reactions = _policy_run(3)
    assert a_values == b_values
    assert a_reactions == b_reactions
    assert Counter(a_reactions.values())["accept"] > 0
    kinds = {DECODER.decode(v).event_type for v in a_values}
    assert {"intervention_impression", "intervention_click"} <= kinds


def test_intervention_changes_only_its_own_session() -> None:
    base = Simulation(config())
    treated = Simulation(config())
    base_records = base.advance(1200.0)
    treated.advance(1200.0)
    target = treated.live_sessions()[0]
    iv = Intervention("d-1", target.state.session_id, "discount", 1200.0, discount_pct=15.0)
    entry = treated.apply_intervention(iv, 1200.0)
    assert entry is not None and entry.status == "applied"
    rest_base = [r for r in base.advance(3600.0) if r.session_id != target.state.session_id]
    rest_treated = [r for r in treated.advance(3600.0) if r.session_id != target.state.session_id]
    assert [r.value for r in rest_base] == [r.value for r in rest_treated]
    assert base_records


def test_decisions_for_unknown_or_ended_sessions_are_recorded_and_ignored() -> None:
    sim = Simulation(config())
    records = sim.advance(1800.0)
    ended = next(r.session_id for r in records if r.event_type == "session_end")
    assert ended is not None
    unknown = sim.apply_intervention(Intervention("d-u", "s-nope", "upsell", 1800.0), sim.now)
    late = sim.apply_intervention(Intervention("d-l", ended, "upsell", 1800.0), sim.now)
    live = sim.live_sessions()[0].state
    wrong_user = sim.apply_intervention(
        Intervention("d-w", live.session_id, "upsell", 1800.0, user_id="u-someone-else"), sim.now
    )
    again = sim.apply_intervention(Intervention("d-l", ended, "upsell", 1800.0), sim.now)
    assert unknown is not None and unknown.status == "unknown_session"
    assert late is not None and late.status == "session_ended"
    assert wrong_user is not None and wrong_user.status == "unknown_session"
    assert again is not None and again.status == "duplicate"
    summary = sim.summary()
    assert summary.interventions_applied == 0
    assert summary.interventions_by_status == {"duplicate": 1, "session_ended": 1, "unknown_session": 2}


def test_a_decision_from_the_future_waits_until_its_time() -> None:
    sim = Simulation(config())
    sim.advance(600.0)
    session = sim.live_sessions()[0]
    iv = Intervention("d-f", session.state.session_id, "concierge_message", 900.0)
    entry = sim.apply_intervention(iv, 600.0)
    assert entry is not None and entry.status == "scheduled"
    records = sim.advance(3600.0)
    if entry.status == "applied":  # the session was still live at 900 s
        assert entry.applied_at == 900.0
        shown = [r for r in records if r.session_id == iv.session_id and r.event_type == "intervention_impression"]
        assert shown and shown[0].sim_time >= 900.0
    else:
        assert entry.status == "session_ended"


def test_truth_entries_carry_oracle_values_and_outcomes() -> None:
    sim = Simulation(config(shoppers=1500, duration_s=7200.0))
    sim.advance(900.0)
    assert len(sim.live_sessions()) >= 40
    for n, session in enumerate(sim.live_sessions()[:40]):
        sim.apply_intervention(Intervention(f"d-{n}", session.state.session_id, "discount", 900.0), sim.now)
    sim.advance(7200.0)
    entries = [e for e in sim.truth_entries() if e.status == "applied"]
    assert len(entries) == 40
    for entry in entries:
        assert set(entry.oracle) == {
            "none",
            "upsell",
            "cross_sell",
            "discount",
            "checkout_nudge",
            "email_capture",
            "concierge_message",
        }
        assert entry.oracle["none"] == 0.0
        assert entry.regret is not None and entry.regret >= 0.0
        assert entry.reaction in {"accept", "ignore", "dismiss", "leave"}
        assert entry.group in {"a", "b"}
        line = entry.to_json(sim.start_time)
        assert line["action"]["type"] == "discount"
    assert sum(e.outcome is not None for e in entries) >= 30
