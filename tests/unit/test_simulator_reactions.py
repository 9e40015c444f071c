"""Reactions follow the latent traits; the oracle agrees with what the simulation does (seeded statistics)."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import replace

import pytest

from simulator import (
    ACTION_TYPES,
    CartLine,
    Catalogue,
    Intervention,
    Session,
    ShopperState,
    ShopperTraits,
    Simulation,
    SimulationConfig,
    canonical_action,
    oracle_breakdown,
    oracle_values,
    rollout,
)

CATALOGUE = Catalogue.build(random.Random(5), size=200, n_categories=6)


def traits(**overrides: object) -> ShopperTraits:
    base = ShopperTraits(
        index=0,
        user_id="u-test",
        anonymous_id="a-test",
        group="a",
        device="desktop",
        category_prefs=(0.5, 0.2, 0.1, 0.1, 0.05, 0.05),
        price_sensitivity=0.5,
        budget=80.0,
        patience=25.0,
        idle_mean_s=240.0,
        annoyance_sensitivity=0.3,
        annoyance_half_life_s=900.0,
        discount_responsiveness=0.5,
        email_propensity=0.2,
        buy_propensity=0.3,
        return_rate=0.4,
        return_gap_s=3 * 86400.0,
        chattiness=0.1,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def session_for(shopper: ShopperState, seed: int = 1) -> Session:
    product = CATALOGUE.top_in(CATALOGUE.categories[0])[0]
    shopper.saved_cart = (CartLine(product.product_id, 1, product.price, product.category),)
    session = Session(
        shopper,
        CATALOGUE,
        "s-test",
        0.0,
        rng=random.Random(seed),
        react_rng=random.Random(seed + 1),
    )
    session.pop()  # the landing page
    return session


def reactions(session: Session, action: Intervention, n: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for i in range(n):
        counts[session.fork(i).react(action, session.state.t).kind] += 1
    return counts


def test_an_annoyed_shopper_dismisses_and_leaves_more() -> None:
    upsell = Intervention("d", "s-test", "upsell", 0.0)
    calm = session_for(ShopperState(traits()))
    angry_shopper = ShopperState(traits(), annoyance=0.8, annoyance_at=0.0)
    angry = session_for(angry_shopper)
    n = 1000
    calm_r, angry_r = reactions(calm, upsell, n), reactions(angry, upsell, n)
    assert (angry_r["dismiss"] + angry_r["leave"]) / n > (calm_r["dismiss"] + calm_r["leave"]) / n + 0.3
    assert angry_r["accept"] < calm_r["accept"]


def test_a_discount_responsive_shopper_accepts_discounts_more() -> None:
    discount = Intervention("d", "s-test", "discount", 0.0, discount_pct=10.0)
    keen = session_for(ShopperState(traits(discount_responsiveness=0.9)))
    indifferent = session_for(ShopperState(traits(discount_responsiveness=0.1)))
    n = 1000
    keen_rate = reactions(keen, discount, n)["accept"] / n
    indifferent_rate = reactions(indifferent, discount, n)["accept"] / n
    assert keen_rate > indifferent_rate + 0.4


def test_annoyance_rises_with_each_intervention_and_decays() -> None:
    shopper = ShopperState(traits(annoyance_sensitivity=0.6))
    session = session_for(shopper)
    levels = []
    for n in range(4):
        session.react(Intervention(f"d-{n}", "s-test", "email_capture", 0.0), session.state.t)
        levels.append(shopper.annoyance_now(session.state.t))
    assert levels == sorted(levels) and levels[-1] > levels[0] > 0.0
    assert shopper.annoyance_now(session.state.t + 3600.0) < levels[-1] / 8


def test_an_accepted_upsell_adds_the_offered_product() -> None:
    keen = traits(price_sensitivity=0.0, budget=1000.0)
    session = session_for(ShopperState(keen))
    offer = CATALOGUE.top_in(CATALOGUE.categories[0])[1]
    upsell = Intervention("d-up", "s-test", "upsell", 0.0, product_id=offer.product_id)
    for seed in range(50):
        fork = session.fork(seed)
        reaction = fork.react(upsell, fork.state.t)
        if reaction.kind == "accept":
            kinds = [fork.pop().kind for _ in range(3)]
            assert kinds == ["intervention_impression", "intervention_click", "add_to_cart"]
            assert offer.product_id in fork.state.cart
            assert fork.state.offer_decision_id == "d-up"
            return
    pytest.fail("the upsell was never accepted")


def test_an_accepted_offer_can_bring_the_shopper_back_hours_later_to_buy() -> None:
    shopper = ShopperState(traits(buy_propensity=0.9))
    session = session_for(shopper)
    discount = Intervention("d-late", "s-test", "discount", 0.0, discount_pct=20.0)
    delays = []
    for seed in range(300):
        fork = session.fork(seed)
        if fork.react(discount, fork.state.t).kind != "accept":
            continue
        while fork.peek() is not None:
            fork.pop()
        nxt = fork.next_visit
        if not fork.state.purchased and nxt is not None and nxt.kind == "return_to_buy":
            delays.append(nxt.t - fork.state.t)
            later = Session(
                fork.shopper, CATALOGUE, "s-later", nxt.t, rng=random.Random(seed), react_rng=random.Random(0)
            )
            assert later.state.discount_pct == 20.0 and later.state.offer_decision_id == "d-late"
    assert len(delays) >= 5
    assert min(delays) >= 60.0 and max(delays) > 3600.0  # minutes to hours


@pytest.fixture(scope="module")
def decision_states() -> tuple[Simulation, list[Session]]:
    sim = Simulation(SimulationConfig(shoppers=3000, duration_s=7200.0, seed=11))
    sim.advance(3600.0)
    sessions = sorted(sim.live_sessions(), key=lambda s: (-len(s.state.cart), s.state.session_id))
    return sim, sessions


def test_the_oracles_acceptance_probability_is_what_the_simulation_does(
    decision_states: tuple[Simulation, list[Session]],
) -> None:
    sim, sessions = decision_states
    n = 600
    for session in sessions[:4]:
        t = sim.now
        for action in ACTION_TYPES[1:]:
            iv = canonical_action(action, session.state.session_id, t)
            expected = oracle_breakdown(session.shopper, session.state, iv, sim.catalogue, t).odds.accept
            observed = reactions(session, iv, n)["accept"] / n
            assert abs(observed - expected) < 0.06, (session.state.session_id, action, expected, observed)


def _spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, i in enumerate(order):
            out[i] = float(rank)
        return out

    return statistics.correlation(ranks(xs), ranks(ys))


def test_the_oracle_ranks_actions_as_the_simulation_plays_them(
    decision_states: tuple[Simulation, list[Session]],
) -> None:
    sim, sessions = decision_states
    n = 400
    correlations = []
    for session in sessions[:4]:
        t = sim.now
        values = oracle_values(session.shopper, session.state, sim.catalogue, t)
        baseline = statistics.fmean(rollout(session, None, t, i).value for i in range(n))
        simulated = {"none": 0.0}
        for action in ACTION_TYPES[1:]:
            iv = canonical_action(action, session.state.session_id, t)
            simulated[action] = statistics.fmean(rollout(session, iv, t, i).value for i in range(n)) - baseline
        best = max(values, key=values.__getitem__)
        spread = max(simulated.values()) - min(simulated.values())
        assert simulated[best] >= max(simulated.values()) - max(2.0, 0.25 * spread), (values, simulated)
        correlations.append(_spearman([values[a] for a in ACTION_TYPES], [simulated[a] for a in ACTION_TYPES]))
    assert statistics.fmean(correlations) > 0.7, correlations
