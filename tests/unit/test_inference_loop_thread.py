"""The loop thread behind the synchronous facade, and how gRPC errors map to unavailability reasons."""

from __future__ import annotations

import asyncio
import threading

import pytest
from tritonclient.utils import InferenceServerException

from serving.inference.connection import unavailable_reason
from serving.inference.errors import UnavailableReason
from serving.inference.loop_thread import LoopThread


async def _where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_runs_coroutines_on_its_own_daemon_thread() -> None:
    loop_thread = LoopThread(name="kairos-test-loop")
    loop_thread.close()  # closing before the first run does nothing: the thread still starts on demand
    try:
        assert not loop_thread.started
        assert loop_thread.run(_where(), timeout_s=5.0) == "kairos-test-loop"
        assert loop_thread.started
    finally:
        loop_thread.close()
    assert not loop_thread.started


def test_a_slow_coroutine_times_out_and_is_cancelled() -> None:
    loop_thread = LoopThread()
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        with pytest.raises(TimeoutError):
            loop_thread.run(forever(), timeout_s=0.05)
        assert cancelled.wait(timeout=5.0)
    finally:
        loop_thread.close()


def test_exceptions_reach_the_caller() -> None:
    async def fail() -> None:
        raise KeyError("boom")

    loop_thread = LoopThread()
    try:
        with pytest.raises(KeyError, match="boom"):
            loop_thread.run(fail(), timeout_s=5.0)
    finally:
        loop_thread.close()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("StatusCode.DEADLINE_EXCEEDED", UnavailableReason.TIMEOUT),
        ("StatusCode.UNAVAILABLE", UnavailableReason.UNAVAILABLE),
        ("StatusCode.CANCELLED", UnavailableReason.UNAVAILABLE),
        ("StatusCode.INTERNAL", UnavailableReason.SERVER_ERROR),
        (None, UnavailableReason.SERVER_ERROR),
    ],
)
def test_grpc_status_names_the_reason(status: str | None, reason: UnavailableReason) -> None:
    assert unavailable_reason(InferenceServerException("x", status=status)) is reason
