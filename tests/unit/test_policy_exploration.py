"""Exploration: the per-decision seed, exact propensities of each scheme, and the seeded draw."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.policy import (
    NoAllowedActionError,
    PolicyConfigError,
    PolicyInputError,
    best_index,
    draw,
    epsilon_greedy_propensities,
    greedy_propensities,
    igw_propensities,
    seed_for,
    softmax_propensities,
)


def test_seed_for_is_pinned() -> None:
    # BLAKE2b of the id's UTF-8 bytes: the same in every process, unlike hash() (salted by PYTHONHASHSEED).
    assert seed_for("d-1") == 2459040138847576985
    assert seed_for("décision/2") == int.from_bytes(
        hashlib.blake2b("décision/2".encode(), digest_size=8).digest(), "big"
    )
    assert seed_for("d-1") != seed_for("d-2")
    assert 0 <= seed_for("") < 2**64


def test_igw_matches_the_squarecb_formula() -> None:
    scores = np.array([0.2, 1.0, 0.6, 5.0, 0.0])
    mask = np.array([True, True, True, False, True])
    p = igw_propensities(scores, mask, gamma=10.0)
    n = 4
    assert p[0] == pytest.approx(1 / (n + 10 * 0.8))
    assert p[2] == pytest.approx(1 / (n + 10 * 0.4))
    assert p[4] == pytest.approx(1 / (n + 10 * 1.0))
    assert p[3] == 0.0
    assert p[1] == pytest.approx(1 - p[0] - p[2] - p[4])
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert igw_propensities(scores, mask, gamma=0.0)[mask] == pytest.approx(np.full(4, 0.25))
    greedy = igw_propensities(scores, mask, gamma=1e12)
    assert greedy[1] == pytest.approx(1.0, abs=1e-9)


def test_epsilon_softmax_and_greedy() -> None:
    scores, mask = np.array([1.0, 3.0, 2.0]), np.array([True, True, False])
    assert epsilon_greedy_propensities(scores, mask, 0.2).tolist() == pytest.approx([0.1, 0.9, 0.0])
    soft = softmax_propensities(scores, mask, temperature=0.5)
    assert soft.tolist() == pytest.approx([1 / (1 + np.exp(4.0)), 1 / (1 + np.exp(-4.0)), 0.0])
    assert greedy_propensities(scores, mask).tolist() == [0.0, 1.0, 0.0]
    assert best_index([1.0, 1.0, 0.0], [True, True, True]) == 0  # ties to the lowest index


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: igw_propensities([1.0], [True], gamma=-1.0), PolicyConfigError),
        (lambda: epsilon_greedy_propensities([1.0], [True], 1.5), PolicyConfigError),
        (lambda: softmax_propensities([1.0], [True], temperature=0.0), PolicyConfigError),
        (lambda: greedy_propensities([1.0, 2.0], [False, False]), NoAllowedActionError),
        (lambda: greedy_propensities([1.0, 2.0], [True]), PolicyInputError),
        (lambda: greedy_propensities([float("nan"), 2.0], [True, True]), PolicyInputError),
        (lambda: draw([0.0, 0.0], seed=1), PolicyInputError),
        (lambda: draw([-0.1, 1.1], seed=1), PolicyInputError),
    ],
)
def test_bad_inputs_raise(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


def test_nan_on_a_masked_candidate_is_ignored() -> None:
    p = igw_propensities([float("nan"), 1.0, 0.0], [False, True, True], gamma=1.0)
    assert p[0] == 0.0 and p.sum() == pytest.approx(1.0)


schemes = st.sampled_from(["igw", "epsilon", "softmax", "greedy"])


def _propensities(scheme: str, scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if scheme == "igw":
        return igw_propensities(scores, mask, gamma=7.0)
    if scheme == "epsilon":
        return epsilon_greedy_propensities(scores, mask, 0.3)
    if scheme == "softmax":
        return softmax_propensities(scores, mask, temperature=0.7)
    return greedy_propensities(scores, mask)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    k=st.integers(1, 30),
    scheme=schemes,
    seed=st.integers(0, 2**64 - 1),
)
def test_propensities_are_exact_and_masked_candidates_are_never_drawn(
    data: st.DataObject, k: int, scheme: str, seed: int
) -> None:
    scores = np.array(data.draw(st.lists(st.floats(-50, 50), min_size=k, max_size=k)))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    mask[data.draw(st.integers(0, k - 1))] = True
    p = _propensities(scheme, scores, mask)
    assert (p[~mask] == 0.0).all()
    assert (p[mask] >= 0.0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    index = draw(p, seed)
    assert mask[index] and p[index] > 0
    assert draw(p, seed) == index


def test_draws_follow_the_propensities() -> None:
    p = np.array([0.5, 0.0, 0.3, 0.2])
    counts = Counter(draw(p, seed_for(f"d-{i}")) for i in range(20_000))
    assert counts[1] == 0
    for index in (0, 2, 3):
        assert counts[index] / 20_000 == pytest.approx(p[index], abs=0.015)
