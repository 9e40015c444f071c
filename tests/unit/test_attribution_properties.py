"""Property tests: arrival order within the lateness, duplicates, advance cadence and restarts change nothing."""

from __future__ import annotations

import pickle
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decisions import Decision, InterventionType
from streams.attribution import (
    Aggregation,
    AttributionConfig,
    Attributor,
    ComponentRule,
    CreditRule,
    Intake,
    Unattributed,
)
from tests.unit.test_attribution_kit import (
    Record,
    Run,
    chat,
    click,
    collect,
    decision,
    dismiss,
    feed,
    impression,
    page_view,
    purchase,
    reward_key,
    run,
    session_end,
    signup,
    survey,
    unsubscribe,
)

LATENESS = 60

# Short windows so that components close while the stream is still running.
CONFIG = AttributionConfig(
    transaction_value=ComponentRule(backward_s=5.0),
    conversion=ComponentRule(aggregation=Aggregation.MAX, weight=0.5),
    satisfaction=ComponentRule(window_s=600.0, aggregation=Aggregation.AVERAGE, weight=0.5),
    retention=ComponentRule(window_s=1200.0, backward_s=0.0, aggregation=Aggregation.EARLIEST, credit=CreditRule.EVERY),
    penalty=ComponentRule(window_s=300.0),
    allowed_lateness_s=LATENESS,
    activation_timeout_s=60.0,
    half_life_s=100.0,
)
DECAY = AttributionConfig(
    transaction_value=CONFIG.transaction_value,
    conversion=ComponentRule(aggregation=Aggregation.SUM, weight=0.5),
    satisfaction=CONFIG.satisfaction,
    retention=ComponentRule(window_s=1200.0, aggregation=Aggregation.SUM),
    penalty=CONFIG.penalty,
    credit=CreditRule.TIME_DECAY,
    honour_tokens=False,
    report_organic=True,
    allowed_lateness_s=LATENESS,
    activation_timeout_s=60.0,
    half_life_s=100.0,
)
SESSIONS = {"u1": ("s1", "s2", "s3"), "u2": ("s4", "s5")}
KINDS = (
    (InterventionType.NONE, None, None),
    (InterventionType.CHECKOUT_NUDGE, None, None),
    (InterventionType.UPSELL, "p2", None),
    (InterventionType.CROSS_SELL, None, "hats"),
    (InterventionType.EMAIL_CAPTURE, None, None),
)


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[int, Record]]:
    """A random history of decisions, impressions and outcomes for two users, as ``(event time, record)``."""
    timed: list[tuple[int, Record]] = []
    n = 0

    def where() -> tuple[str, str]:
        user = draw(st.sampled_from(sorted(SESSIONS)))
        return user, draw(st.sampled_from(SESSIONS[user]))

    decision_ids = [f"d{i}" for i in range(draw(st.integers(1, 6)))]
    times: list[int] = []
    for did in decision_ids:
        user, session = where()
        t = draw(st.integers(0, 1500))
        times.append(t)
        kind, product, category = draw(st.sampled_from(KINDS))
        timed.append(
            (
                t,
                decision(
                    did,
                    t,
                    user=user,
                    session=session,
                    kind=kind,
                    product=product,
                    category=category,
                    window_s=draw(st.sampled_from([120, 300])),
                ),
            )
        )
        if kind is not InterventionType.NONE and draw(st.booleans()):
            n += 1
            shown = t + draw(st.integers(0, 70))  # sometimes after the activation timeout
            timed.append((shown, impression(f"i{n}", shown, did, user=user, session=session)))
        if draw(st.integers(0, 3)) == 0:
            n += 1
            when = t + draw(st.integers(1, 400))
            timed.append((when, dismiss(f"x{n}", when, did, user=user, session=session)))
    tokens = st.sampled_from([None, None, "d-unknown", *decision_ids])
    for _ in range(draw(st.integers(0, 14))):
        n += 1
        user, session = where()
        near = draw(st.sampled_from(times)) + draw(st.integers(-10, 400))  # most outcomes follow a decision
        t = max(0, draw(st.sampled_from([near, near, draw(st.integers(0, 2200))])))
        eid = f"e{n}"
        make = draw(st.integers(-2, 8))
        if make <= 0:
            lines = draw(st.sampled_from([(("p1", 40.0),), (("p1", 40.0), ("p2", 25.0)), (("p3", 60.0),)]))
            record = purchase(
                eid,
                t,
                lines,
                user=user,
                session=session,
                token=draw(tokens),
                discount=draw(st.sampled_from([0.0, 5.0])),
                category=draw(st.sampled_from([None, "hats"])),
            )
        elif make == 1:
            record = survey(eid, t, draw(st.integers(1, 5)), user=user, session=session, token=draw(tokens))
        elif make == 2:
            record = chat(
                eid, t, draw(st.sampled_from(["thanks, great", "this is bad", "size?"])), user=user, session=session
            )
        elif make == 3:
            record = session_end(eid, t, user=user, session=session)
        elif make == 4:
            record = unsubscribe(eid, t, user=user, session=session)
        elif make == 5:
            record = signup(eid, t, user=user, session=session)
        elif make == 6:
            record = click(eid, t, draw(st.sampled_from(decision_ids)), user=user, session=session)
        else:
            record = page_view(eid, t, user=user, session=session)
        timed.append((t, record))
    return timed


def in_order(timed: list[tuple[int, Record]]) -> list[Record]:
    """Event-time order (stable)."""
    return [record for _, (_, record) in sorted(enumerate(timed), key=lambda p: (p[1][0], p[0]))]


def shuffled(timed: list[tuple[int, Record]], delays: list[int]) -> list[Record]:
    """Each record delayed by up to the lateness: it still arrives no further behind the watermark than that."""
    keyed = sorted(range(len(timed)), key=lambda i: (timed[i][0] + delays[i % len(delays)], i))
    return [timed[i][1] for i in keyed]


def unattributed_key(item: Unattributed) -> tuple[str, str, str]:
    return (item.event.event_id, item.decision_id, item.reason.value)


def summary(result: Run) -> tuple[Counter[tuple[object, ...]], Counter[tuple[str, str, str]]]:
    return Counter(reward_key(r) for r in result.rewards), Counter(unattributed_key(u) for u in result.unattributed)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    timed=scenarios(),
    delays=st.lists(st.integers(0, LATENESS), min_size=1, max_size=40),
    cadence=st.integers(1, 7),
    config=st.sampled_from([CONFIG, DECAY]),
)
def test_arrival_order_within_lateness_and_advance_cadence_do_not_matter(
    timed: list[tuple[int, Record]], delays: list[int], cadence: int, config: AttributionConfig
) -> None:
    expected = run(in_order(timed), config)
    actual = run(shuffled(timed, delays), config, advance_every=cadence)
    assert summary(actual) == summary(expected)
    assert Intake.LATE not in actual.intakes


@SETTINGS
@given(timed=scenarios(), copies=st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=12))
def test_duplicates_change_nothing(timed: list[tuple[int, Record]], copies: list[tuple[int, int]]) -> None:
    records = in_order(timed)
    expected = run(records, CONFIG)
    noisy: list[tuple[bool, Record]] = [(False, record) for record in records]
    for source, offset in copies:  # a copy of a record, anywhere after the original (even beyond the lateness)
        i = source % len(records)
        original = noisy.index((False, records[i]))
        noisy.insert(original + 1 + offset % (len(noisy) - original), (True, records[i]))
    actual = run([record for _, record in noisy], CONFIG)
    assert summary(actual) == summary(expected)
    originals = [intake for (copy, _), intake in zip(noisy, actual.intakes, strict=True) if not copy]
    assert originals == expected.intakes
    copied = {intake for (copy, _), intake in zip(noisy, actual.intakes, strict=True) if copy}
    assert copied <= {Intake.DUPLICATE, Intake.LATE, Intake.IGNORED}


@SETTINGS
@given(
    timed=scenarios(),
    delays=st.lists(st.integers(0, LATENESS), min_size=1, max_size=40),
    cut=st.floats(0.0, 1.0),
    rewind=st.integers(0, 12),
)
def test_restart_from_a_checkpoint_replaying_an_earlier_tail_emits_every_reward_once(
    timed: list[tuple[int, Record]], delays: list[int], cut: float, rewind: int
) -> None:
    records = shuffled(timed, delays)
    expected = run(records, CONFIG)
    at = int(cut * len(records))
    first = Run([], [], [])
    attributor = Attributor(CONFIG)
    for record in records[:at]:
        first.intakes.append(feed(attributor, record))
        collect(first, attributor.advance())
    restored = pickle.loads(pickle.dumps(attributor))
    second = run(records[max(0, at - rewind) :], attributor=restored)
    rewards = first.rewards + second.rewards
    assert len({r.reward_id for r in rewards}) == len(rewards), "a reward was emitted twice"
    assert Counter(reward_key(r) for r in rewards) == summary(expected)[0]
    assert Counter(unattributed_key(u) for u in first.unattributed + second.unattributed) == summary(expected)[1]


@SETTINGS
@given(timed=scenarios())
def test_every_decision_settles_exactly_once_with_one_record_per_component(timed: list[tuple[int, Record]]) -> None:
    result = run(in_order(timed), CONFIG)
    decisions = {record.decision_id for _, record in timed if isinstance(record, Decision)}
    per_decision = Counter((r.decision_id, r.component) for r in result.rewards)
    assert all(count == 1 for count in per_decision.values())
    assert {d for d, _ in per_decision} == decisions
    for d in decisions:
        components = {c for dd, c in per_decision if dd == d}
        assert len(components) in (2, 7)  # not shown: composite and early; shown: five components, early, composite
