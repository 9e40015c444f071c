"""Contract suite over every River model in ``serving.models`` (River's ``checks`` idea), plus their doctests."""

from __future__ import annotations

import copy
import math
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from serving.models import (
    AbandonmentModel,
    ImpressionLedger,
    ModelConfigError,
    ModelSuite,
    OfferAcceptanceModel,
    PurchasePropensityModel,
    SegmentModel,
)

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _session_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "session_id": f"s{i}",
            "t": T0 + timedelta(seconds=30 * i),
            "row": {
                "events_so_far": rng.randint(1, 40),
                "dwell_s": rng.uniform(0, 900),
                "cart_value": rng.choice([0.0, rng.uniform(5, 300)]),
                "checkout_started": rng.random() < 0.3,
                "last_intent": rng.choice(["", "price", "shipping"]),
                "purchase_count": rng.randint(0, 5),
                "top_category": rng.choice(["", "books", "shoes"]),
            },
            "purchased": rng.random() < 0.3,
        }
        for i in range(n)
    ]


def _offer_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"user": f"u{rng.randrange(8)}", "item": f"p{rng.randrange(5)}", "accepted": rng.random() < 0.4}
        for _ in range(n)
    ]


def _user_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"row": {"purchase_count": rng.randint(0, 30), "monetary": rng.uniform(0, 400), "t_days": rng.uniform(0, 99)}}
        for _ in range(n)
    ]


def _learn_session(model: Any, sample: dict[str, Any]) -> None:
    model.predict_proba_one(sample["session_id"], sample["row"], sample["t"])
    model.label(sample["session_id"], sample["purchased"])


def _probe_session(model: Any, sample: dict[str, Any]) -> float:
    p = float(model.predict_proba_one("probe", sample["row"], sample["t"]))
    model.forget("probe")
    return p


@dataclass(frozen=True)
class Case:
    """One learner under contract: how to build, feed and query it."""

    name: str
    make: Callable[[int], Any]
    stream: Callable[[int, int], list[dict[str, Any]]]
    learn: Callable[[Any, dict[str, Any]], None]
    predict: Callable[[Any, dict[str, Any]], float]
    proba: bool = True


CASES = [
    Case("abandonment", lambda seed: AbandonmentModel(), _session_rows, _learn_session, _probe_session),
    Case("propensity", lambda seed: PurchasePropensityModel(), _session_rows, _learn_session, _probe_session),
    Case(
        "offer_acceptance",
        lambda seed: OfferAcceptanceModel(seed=seed),
        _offer_rows,
        lambda m, s: m.learn_one(s["user"], s["item"], s["accepted"]),
        lambda m, s: m.predict_proba_one(s["user"], s["item"]),
    ),
    Case(
        "segments",
        lambda seed: SegmentModel(n_clusters=3, warmup=16, seed=seed),
        _user_rows,
        lambda m, s: m.learn_one(s["row"]),
        lambda m, s: float(m.predict_one(s["row"])),
        proba=False,
    ),
]
IDS = [case.name for case in CASES]


def _run(case: Case, seed: int, n: int = 120) -> tuple[Any, list[dict[str, Any]]]:
    model = case.make(seed)
    stream = case.stream(n, seed)
    for sample in stream:
        case.learn(model, sample)
    return model, stream


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_learn_then_predict_gives_valid_outputs(case: Case) -> None:
    model, stream = _run(case, seed=7)
    for sample in stream[:30]:
        y = case.predict(model, sample)
        assert math.isfinite(y)
        if case.proba:
            assert 0.0 <= y <= 1.0
        else:
            assert y in range(model.n_clusters)
    assert all(math.isfinite(v) for v in model.metrics().values())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inputs_are_not_mutated(case: Case) -> None:
    model = case.make(3)
    stream = case.stream(60, 3)
    before = copy.deepcopy(stream)
    for sample in stream:
        case.learn(model, sample)
        case.predict(model, sample)
    assert stream == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_seed_reproduces(case: Case) -> None:
    a, stream = _run(case, seed=11)
    b, _ = _run(case, seed=11)
    assert [case.predict(a, s) for s in stream] == [case.predict(b, s) for s in stream]
    assert a.metrics() == b.metrics()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pickle_roundtrip_predicts_identically(case: Case) -> None:
    model, stream = _run(case, seed=5)
    restored = pickle.loads(pickle.dumps(model))
    assert [case.predict(model, s) for s in stream] == [case.predict(restored, s) for s in stream]
    more = case.stream(40, 6)
    for sample in more:
        case.learn(model, sample)
        case.learn(restored, sample)
    assert [case.predict(model, s) for s in more] == [case.predict(restored, s) for s in more]
    assert model.metrics() == restored.metrics()


def test_suite_is_picklable_fresh() -> None:
    suite = ModelSuite(seed=1)
    fresh = suite.metrics()
    assert all(math.isnan(v) for k, v in fresh.items() if k.endswith("_roc_auc")), "no label yet: undefined"
    assert pickle.loads(pickle.dumps(suite)).metrics() == pytest.approx(fresh, rel=0, abs=0, nan_ok=True)


@pytest.mark.parametrize(
    "build",
    [
        lambda: AbandonmentModel(max_pending=0),
        lambda: PurchasePropensityModel(max_age=timedelta(0)),
        lambda: OfferAcceptanceModel(n_factors=0),
        lambda: SegmentModel(n_clusters=4, warmup=2),
        lambda: ImpressionLedger(max_open=0),
        lambda: ModelSuite(max_sessions=0),
    ],
)
def test_bad_parameters_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ModelConfigError):
        build()
