"""Concept drift in the simulator: when it happens, what it changes, that it is seeded, and that shoppers feel it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from simulator import DriftConfig, Intervention, SimRecord, Simulation, SimulationConfig, SimulatorConfigError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AT = 1800.0


def config(drift: DriftConfig | None, **overrides: object) -> SimulationConfig:
    base: dict[str, object] = {"shoppers": 400, "duration_s": 3600.0, "seed": 11, "start_time": START, "drift": drift}
    base.update(overrides)
    return SimulationConfig(**base)  # type: ignore[arg-type]


def run(sim: Simulation, until: float) -> list[SimRecord]:
    out: list[SimRecord] = []
    t = sim.now
    while t < until:
        t = min(until, t + 60.0)
        out.extend(sim.advance(t))
    return out


@pytest.mark.parametrize(
    "kwargs",
    [{"at_s": -1.0}, {"at_s": 10.0, "preference_mix": 1.5}, {"at_s": 10.0, "price_sigma": -0.1}],
)
def test_bad_drift_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(SimulatorConfigError):
        DriftConfig(**kwargs)


def test_nothing_changes_before_the_drift() -> None:
    plain, drifted = Simulation(config(None)), Simulation(config(DriftConfig(at_s=AT)))
    a, b = run(plain, AT - 1.0), run(drifted, AT - 1.0)
    assert len(a) > 100
    assert [r.value for r in a] == [r.value for r in b]
    assert drifted.drifts == [] and drifted.catalogue.products == plain.catalogue.products


def test_drift_moves_prices_and_preferences_and_is_logged() -> None:
    drift = DriftConfig(at_s=AT, preference_mix=0.8, price_sigma=0.3)
    sim, plain = Simulation(config(drift)), Simulation(config(None))
    before_prefs = [s.traits.category_prefs for s in sim.shoppers]
    run(sim, AT + 1.0)
    assert len(sim.drifts) == 1
    record = sim.drifts[0]
    assert record.at_s == AT and set(record.price_factors) == set(sim.catalogue.categories)
    for old in plain.catalogue.products:
        new = sim.catalogue.by_id[old.product_id]
        assert new.price == round(max(0.5, old.price * record.price_factors[old.category]), 2)
        assert (new.stock, new.popularity) == (old.stock, old.popularity)
    after_prefs = [s.traits.category_prefs for s in sim.shoppers]
    assert all(p == pytest.approx(1.0) for p in map(sum, after_prefs))
    l1 = sum(sum(abs(a - b) for a, b in zip(x, y, strict=True)) for x, y in zip(before_prefs, after_prefs, strict=True))
    assert record.preference_l1 == pytest.approx(l1 / len(sim.shoppers))
    assert record.preference_l1 > 0 and orjson.dumps(record.to_json())


def test_drift_is_seeded() -> None:
    drift = DriftConfig(at_s=AT)
    a, b = Simulation(config(drift)), Simulation(config(drift))
    ra, rb = run(a, 3600.0), run(b, 3600.0)
    assert a.drifts == b.drifts and [r.value for r in ra] == [r.value for r in rb]
    other = Simulation(config(drift, seed=12))
    run(other, AT + 1.0)
    assert other.drifts[0].price_factors != a.drifts[0].price_factors


def test_a_mix_of_zero_and_flat_prices_change_nothing_after_the_drift() -> None:
    still = DriftConfig(at_s=AT, preference_mix=0.0, price_sigma=0.0)
    a, b = Simulation(config(None)), Simulation(config(still))
    assert [r.value for r in run(a, 3600.0)] == [r.value for r in run(b, 3600.0)]
    assert b.drifts[0].preference_l1 == 0.0 and set(b.drifts[0].price_factors.values()) == {1.0}


def test_truth_entries_carry_the_regime() -> None:
    sim = Simulation(config(DriftConfig(at_s=AT)))
    regimes: list[int] = []
    for until in (600.0, 3000.0):
        last = next(r for r in reversed(run(sim, until)) if r.kind == "valid" and r.event_type == "exit_intent")
        event = orjson.loads(last.value)
        iv = Intervention(
            decision_id=f"d-drift-{until}",
            session_id=event["session_id"],
            action="discount",
            t=last.sim_time,
            user_id=event["user_id"],
            anonymous_id=event["anonymous_id"],
            discount_pct=10.0,
        )
        entry = sim.apply_intervention(iv, sim.now)
        assert entry is not None
        regimes.append(entry.regime)
        assert entry.to_json(sim.start_time)["regime"] == entry.regime
    assert regimes == [0, 1]


def _share_in_favourite(sim: Simulation, prefs: list[tuple[float, ...]], records: list[SimRecord]) -> float:
    """Share of product views in the viewer's favourite category under ``prefs`` (session ids name the shopper)."""
    categories = sim.catalogue.categories
    favourite = {i: categories[max(range(len(p)), key=p.__getitem__)] for i, p in enumerate(prefs)}
    hits = total = 0
    for r in records:
        if r.kind == "valid" and r.event_type == "product_view" and r.session_id is not None:
            shopper = int(r.session_id.split("-")[2])
            category = sim.catalogue.by_id[orjson.loads(r.value)["product_id"]].category
            hits += category == favourite[shopper]
            total += 1
    assert total > 100
    return hits / total


def test_shoppers_browse_differently_after_the_drift() -> None:
    """After the drift, shoppers view their old favourite category less than the same shoppers do without it."""
    share = {}
    for name, drift in (("plain", None), ("drift", DriftConfig(at_s=AT, preference_mix=1.0))):
        sim = Simulation(config(drift, shoppers=600))
        prefs = [s.traits.category_prefs for s in sim.shoppers]
        run(sim, AT)
        share[name] = _share_in_favourite(sim, prefs, run(sim, 3600.0))
    assert share["drift"] < 0.75 * share["plain"]
