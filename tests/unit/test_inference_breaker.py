"""The circuit breaker: closed → open after N consecutive failures, one half-open probe after the cool-down."""

from __future__ import annotations

import pytest

from serving.inference.breaker import BreakerState, CircuitBreaker


def test_stays_closed_below_the_threshold() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10.0)
    breaker.record_failure(now=0.0)
    breaker.record_failure(now=1.0)
    assert breaker.state(now=1.0) is BreakerState.CLOSED
    assert breaker.allow(now=1.0)
    assert breaker.consecutive_failures == 2


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10.0)
    for now in (0.0, 1.0):
        breaker.record_failure(now)
    breaker.record_success(now=2.0)
    breaker.record_failure(now=3.0)
    breaker.record_failure(now=4.0)
    assert breaker.state(now=4.0) is BreakerState.CLOSED


@pytest.mark.parametrize("threshold", [1, 2, 5])
def test_opens_after_consecutive_failures_and_refuses_until_the_cooldown(threshold: int) -> None:
    breaker = CircuitBreaker(failure_threshold=threshold, cooldown_s=10.0)
    for i in range(threshold):
        breaker.record_failure(now=float(i))
    opened = float(threshold - 1)
    assert breaker.state(now=opened) is BreakerState.OPEN
    assert not breaker.allow(now=opened + 9.9)
    assert breaker.state(now=opened + 10.0) is BreakerState.HALF_OPEN


def test_half_open_lets_one_probe_through_and_its_success_closes() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=5.0)
    breaker.record_failure(now=0.0)
    assert breaker.allow(now=5.0)  # the probe
    assert not breaker.allow(now=5.1)  # others wait for it
    assert breaker.state(now=5.1) is BreakerState.HALF_OPEN
    breaker.record_success(now=5.2)
    assert breaker.state(now=5.2) is BreakerState.CLOSED
    assert breaker.allow(now=5.3)


def test_a_failed_probe_opens_again_for_a_full_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=5.0)
    for now in (0.0, 0.1, 0.2):
        breaker.record_failure(now)
    assert breaker.allow(now=5.2)
    breaker.record_failure(now=5.3)  # one failure is enough while half-open
    assert breaker.state(now=5.3) is BreakerState.OPEN
    assert not breaker.allow(now=10.2)
    assert breaker.allow(now=10.3)


def test_a_probe_that_never_reports_is_replaced_after_a_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=5.0)
    breaker.record_failure(now=0.0)
    assert breaker.allow(now=5.0)
    assert not breaker.allow(now=9.9)
    assert breaker.allow(now=10.0)


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1.0), (1, -1.0)])
def test_rejects_nonsense_parameters(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(failure_threshold=threshold, cooldown_s=cooldown)
