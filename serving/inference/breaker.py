"""A circuit breaker for calls to the inference server: pure, time is a parameter.

closed ──(``failure_threshold`` consecutive failures)──► open ──(``cooldown_s`` later)──► half-open:
one probe call is let through; its success closes the circuit, its failure opens it again for another
cool-down. A probe that never reports back (its caller died) is replaced by a new one after ``cooldown_s``.

>>> breaker = CircuitBreaker(failure_threshold=2, cooldown_s=1.0)
>>> breaker.record_failure(now=0.0); breaker.record_failure(now=0.1)
>>> breaker.allow(now=0.5), breaker.state(now=0.5).value
(False, 'open')
>>> breaker.allow(now=1.2), breaker.allow(now=1.3)  # one probe only
(True, False)
>>> breaker.record_success(now=1.4); breaker.state(now=1.4).value
'closed'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    """Counts consecutive failures and refuses calls while the dependency is presumed down.

    Not thread-safe on its own: callers that share one across threads hold a lock around it.

    Args:
        failure_threshold: consecutive failures (errors or timeouts) that open the circuit.
        cooldown_s: how long the circuit stays open before a probe is let through.
    """

    failure_threshold: int = 5
    cooldown_s: float = 5.0
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)
    _probe_at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {self.cooldown_s}")

    def state(self, now: float) -> BreakerState:
        """The state at ``now`` (open turns half-open once the cool-down has passed)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probe_at is not None or now - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self, now: float) -> bool:
        """Whether a call may go out at ``now``; in half-open, True for the one probe only."""
        if self._opened_at is None:
            return True
        if self._probe_at is None:
            if now - self._opened_at < self.cooldown_s:
                return False
            self._probe_at = now
            return True
        if now - self._probe_at >= self.cooldown_s:  # the last probe never reported back
            self._probe_at = now
            return True
        return False

    def record_success(self, now: float) -> None:
        """A call succeeded at ``now``: close the circuit and forget past failures."""
        del now  # kept in the signature so every transition takes the time the same way
        self._failures = 0
        self._opened_at = None
        self._probe_at = None

    def record_failure(self, now: float) -> None:
        """A call failed or timed out: count it; open (or re-open) the circuit when due."""
        self._failures += 1
        if self._probe_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = now
            self._probe_at = None

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures
