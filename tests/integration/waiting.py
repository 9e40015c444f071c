"""Condition waits for integration tests: poll a probe until it holds, fail with what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout_s: float, *, interval_s: float = 0.2, what: str = "") -> T:
    """Call ``probe`` until it returns something truthy, and return that; fail after ``timeout_s``.

    The probe is called once more at the deadline, so a slow poll never fails a condition that holds by then.

    Args:
        probe: the condition; return the value the test needs (a count, a page) or something falsy to wait on.
        timeout_s: how long the condition may take.
        interval_s: the pause between two calls.
        what: says what was awaited in the failure message.

    Raises:
        AssertionError: the probe stayed falsy for ``timeout_s`` (the message names ``what`` and its last value).

    >>> calls = iter([0, 0, 3])
    >>> wait_until(lambda: next(calls), 5, interval_s=0)
    3
    >>> wait_until(lambda: 0, 0, what="a commit")
    Traceback (most recent call last):
    AssertionError: a commit: still 0 after 0s
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what or 'condition'}: still {value!r} after {timeout_s:g}s")
        time.sleep(interval_s)
