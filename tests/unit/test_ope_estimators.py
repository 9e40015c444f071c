"""IPW, SNIPW, DM and DR: hand-checked values, slots, clipping, identities, input validation and purity."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from serving.ope import (
    ESTIMATORS,
    IntervalSpec,
    LoggedBandit,
    OPEConfigError,
    OPEInputError,
    direct_method,
    doubly_robust,
    estimate_all,
    ipw,
    resolve,
    snipw,
)

NORMAL = IntervalSpec(method="normal")


def _log() -> LoggedBandit:
    # 4 rounds, 3 actions; logging propensities of the chosen actions
    return LoggedBandit(
        actions=np.array([0, 1, 2, 1]),
        rewards=np.array([1.0, 0.0, 1.0, 1.0]),
        pscore=np.array([0.5, 0.25, 0.25, 0.25]),
    )


PI = np.array(
    [
        [0.2, 0.5, 0.3],
        [0.1, 0.8, 0.1],
        [0.0, 0.5, 0.5],
        [1.0, 0.0, 0.0],
    ]
)
Q = np.array(
    [
        [0.9, 0.1, 0.4],
        [0.2, 0.3, 0.0],
        [0.5, 0.5, 0.6],
        [0.0, 0.7, 1.0],
    ]
)


def test_ipw_and_snipw_by_hand() -> None:
    # weights pi(a_i)/pscore_i = [0.4, 3.2, 2.0, 0.0]
    w = np.array([0.2 / 0.5, 0.8 / 0.25, 0.5 / 0.25, 0.0])
    r = np.array([1.0, 0.0, 1.0, 1.0])
    assert ipw(_log(), PI, spec=NORMAL).value == pytest.approx((w * r).mean())
    assert snipw(_log(), PI, spec=NORMAL).value == pytest.approx((w * r).sum() / w.sum())


def test_dm_and_dr_by_hand() -> None:
    model_value = (PI * Q).sum(axis=1)
    w = np.array([0.4, 3.2, 2.0, 0.0])
    factual = np.array([0.9, 0.3, 0.6, 0.7])
    r = np.array([1.0, 0.0, 1.0, 1.0])
    assert direct_method(_log(), PI, Q, spec=NORMAL).value == pytest.approx(model_value.mean())
    assert doubly_robust(_log(), PI, Q, spec=NORMAL).value == pytest.approx((model_value + w * (r - factual)).mean())


def test_clipping_caps_the_weights() -> None:
    clipped = ipw(_log(), PI, max_weight=1.0, spec=NORMAL).value
    assert clipped == pytest.approx((np.array([0.4, 1.0, 1.0, 0.0]) * [1.0, 0.0, 1.0, 1.0]).mean())
    dr = doubly_robust(_log(), PI, Q, max_weight=1.0, spec=NORMAL).value
    assert dr != doubly_robust(_log(), PI, Q, spec=NORMAL).value


def test_evaluating_the_logging_policy_gives_the_mean_reward() -> None:
    rng = np.random.default_rng(3)
    n, k = 500, 4
    logging = rng.dirichlet(np.ones(k), size=n)
    actions = np.array([rng.choice(k, p=p) for p in logging])
    rewards = rng.random(n)
    log = LoggedBandit(actions, rewards, logging[np.arange(n), actions])
    assert ipw(log, logging, spec=NORMAL).value == pytest.approx(rewards.mean())
    assert snipw(log, logging, spec=NORMAL).value == pytest.approx(rewards.mean())


def test_dr_with_a_zero_model_is_ipw_and_with_zero_weights_is_dm() -> None:
    zero_q = np.zeros_like(Q)
    assert doubly_robust(_log(), PI, zero_q, spec=NORMAL).value == pytest.approx(ipw(_log(), PI, spec=NORMAL).value)
    never_logged = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert doubly_robust(_log(), never_logged, Q, spec=NORMAL).value == pytest.approx(
        direct_method(_log(), never_logged, Q, spec=NORMAL).value
    )


def test_snipw_stays_within_the_reward_range() -> None:
    rng = np.random.default_rng(5)
    n, k = 300, 5
    actions = rng.integers(0, k, n)
    rewards = rng.uniform(-2.0, 3.0, n)
    log = LoggedBandit(actions, rewards, np.full(n, 1 / k))
    value = snipw(log, rng.dirichlet(np.ones(k) * 0.2, size=n), spec=NORMAL).value
    assert rewards.min() <= value <= rewards.max()


def test_slots_read_the_logged_position() -> None:
    # 2 rounds, 2 actions, 2 slots; the policy differs by slot
    dist = np.zeros((2, 2, 2))
    dist[:, :, 0] = [[1.0, 0.0], [1.0, 0.0]]
    dist[:, :, 1] = [[0.0, 1.0], [0.0, 1.0]]
    log = LoggedBandit(np.array([0, 1]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), position=np.array([0, 1]))
    assert ipw(log, dist, spec=NORMAL).value == pytest.approx(2.0)
    swapped = LoggedBandit(np.array([0, 1]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), position=np.array([1, 0]))
    assert ipw(swapped, dist, spec=NORMAL).value == 0.0


def test_position_independent_predictions_broadcast_over_slots() -> None:
    dist = np.stack([PI, PI[:, ::-1]], axis=2)
    log = LoggedBandit(_log().actions, _log().rewards, _log().pscore, position=np.array([0, 1, 0, 1]))
    two_d = direct_method(log, dist, Q, spec=NORMAL).value
    three_d = direct_method(log, dist, np.stack([Q, Q], axis=2), spec=NORMAL).value
    assert two_d == pytest.approx(three_d)


def test_estimate_all_runs_model_based_estimators_only_with_predictions() -> None:
    assert set(estimate_all(_log(), PI, spec=NORMAL)) == {"ipw", "snipw"}
    assert tuple(estimate_all(_log(), PI, Q, spec=NORMAL)) == ESTIMATORS


def test_estimates_are_deterministic_picklable_and_do_not_mutate_inputs() -> None:
    pi, q = PI.copy(), Q.copy()
    first = estimate_all(_log(), pi, q)
    second = estimate_all(_log(), pi, q)
    np.testing.assert_array_equal(pi, PI)
    np.testing.assert_array_equal(q, Q)
    for name in first:
        assert first[name].value == second[name].value
        assert first[name].interval == second[name].interval
        assert first[name].log_digest == _log().digest
        assert pickle.loads(pickle.dumps(first[name])).value == first[name].value


def test_the_log_is_a_frozen_copy() -> None:
    actions = np.array([0, 1])
    log = LoggedBandit(actions, np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    actions[0] = 1
    assert log.actions[0] == 0
    with pytest.raises(ValueError, match="read-only"):
        log.rewards[0] = 2.0
    copy = pickle.loads(pickle.dumps(log))
    assert copy.digest == log.digest
    assert not copy.actions.flags.writeable


@pytest.mark.parametrize(
    ("actions", "rewards", "pscore", "position"),
    [
        ([], [], [], None),
        ([0, 1], [1.0], [0.5, 0.5], None),
        ([0, -1], [1.0, 0.0], [0.5, 0.5], None),
        ([0.0, 1.0], [1.0, 0.0], [0.5, 0.5], None),
        ([0, 1], [1.0, math.nan], [0.5, 0.5], None),
        ([0, 1], [1.0, 0.0], [0.5, 0.0], None),
        ([0, 1], [1.0, 0.0], [0.5, 1.5], None),
        ([0, 1], [1.0, 0.0], [0.5, 0.5], [0, -1]),
    ],
)
def test_bad_logs_are_rejected(
    actions: list[float], rewards: list[float], pscore: list[float], position: list[int] | None
) -> None:
    with pytest.raises(OPEInputError):
        LoggedBandit(
            np.array(actions), np.array(rewards), np.array(pscore), None if position is None else np.array(position)
        )


@pytest.mark.parametrize(
    ("dist", "message"),
    [
        (PI[:3], "rounds"),
        (PI[:, :2] / PI[:, :2].sum(axis=1, keepdims=True), "n_actions"),
        (PI * 0.5, "sum to 1"),
        (np.where(PI == 1.0, math.nan, PI), "finite"),
        (np.array([[1.5, -0.5, 0.0]] * 4), "non-negative"),
        (np.stack([PI, PI], axis=2), "no positions"),
        (PI[None, None], "shape"),
    ],
)
def test_bad_action_dists_are_rejected(dist: np.ndarray, message: str) -> None:
    with pytest.raises(OPEInputError, match=message):
        resolve(_log(), dist)


def test_bad_predictions_and_settings_are_rejected() -> None:
    with pytest.raises(OPEInputError, match="does not match"):
        direct_method(_log(), PI, Q[:, :2])
    with pytest.raises(OPEInputError, match="finite"):
        doubly_robust(_log(), PI, np.full_like(Q, math.inf))
    with pytest.raises(OPEConfigError):
        ipw(_log(), PI, max_weight=0.0)
    with pytest.raises(OPEInputError, match="no weight"):
        snipw(_log(), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))


def test_ope_errors_are_kairos_errors_and_value_errors() -> None:
    from schemas.errors import KairosError

    with pytest.raises(KairosError):
        resolve(_log(), PI[:3])
    with pytest.raises(ValueError):
        resolve(_log(), PI[:3])
