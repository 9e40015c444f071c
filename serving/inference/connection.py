"""One gRPC endpoint of the inference server, guarded by a circuit breaker per model.

Every failure (timeout, unreachable server, model error) becomes one :class:`InferenceUnavailableError` with
a named reason, and counts against the model's breaker; while a breaker is open, calls fail at once without
touching the network. gRPC channels are bound to an event loop, so the connection keeps one
``tritonclient.grpc.aio`` client per loop; synchronous callers go through a loop in a daemon thread it owns.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from tritonclient.grpc import aio as grpcaio
from tritonclient.utils import InferenceServerException

from serving.inference.breaker import BreakerState, CircuitBreaker
from serving.inference.errors import InferenceUnavailableError, UnavailableReason
from serving.inference.loop_thread import LoopThread

__all__ = ["CHANNEL_ARGS", "TritonConnection", "unavailable_reason"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_MAX_MESSAGE = 2**31 - 1
#: reconnect quickly after an outage, so a half-open probe finds the server as soon as it is back.
CHANNEL_ARGS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
_SYNC_GRACE_S = 1.0


def unavailable_reason(exc: InferenceServerException) -> UnavailableReason:
    """The named reason for a gRPC error from tritonclient (by its status code)."""
    status = str(exc.status() or "")
    if "DEADLINE_EXCEEDED" in status:
        return UnavailableReason.TIMEOUT
    if "UNAVAILABLE" in status or "CANCELLED" in status:
        return UnavailableReason.UNAVAILABLE
    return UnavailableReason.SERVER_ERROR


class TritonConnection:
    """The client side of one tritonserver gRPC endpoint.

    Args:
        url: ``host:port`` of the gRPC endpoint.
        failure_threshold: consecutive failures of a model that open its circuit.
        cooldown_s: how long an open circuit refuses calls before one probe goes through.
        clock: monotonic seconds (a parameter so tests can drive the breaker).
    """

    def __init__(
        self,
        url: str,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._failure_threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, grpcaio.InferenceServerClient] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_thread = LoopThread(name=f"kairos-triton-{url}")

    def client(self) -> grpcaio.InferenceServerClient:
        """The gRPC client bound to the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = grpcaio.InferenceServerClient(self.url, channel_args=CHANNEL_ARGS)
                self._clients[loop] = client
            return client

    def _breaker(self, model: str) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = self._breakers[model] = CircuitBreaker(self._failure_threshold, self._cooldown_s)
        return breaker

    def breaker_state(self, model: str) -> BreakerState:
        """The circuit state of ``model`` now."""
        with self._lock:
            return self._breaker(model).state(self._clock())

    async def infer(
        self,
        model: str,
        inputs: Sequence[grpcaio.InferInput],
        outputs: Sequence[str],
        timeout_s: float,
        model_version: str = "",
    ) -> grpcaio.InferResult:
        """One inference request, guarded by the model's breaker and a gRPC deadline of ``timeout_s``.

        ``model_version`` pins a version ("": the server's choice, i.e. the latest it serves).

        Raises:
            InferenceUnavailableError: circuit open, deadline exceeded, server unreachable, or a server error.
        """
        with self._lock:
            if not self._breaker(model).allow(self._clock()):
                raise InferenceUnavailableError(UnavailableReason.CIRCUIT_OPEN, f"{model}: circuit open")
        requested = [grpcaio.InferRequestedOutput(name) for name in outputs]
        try:
            result = await self.client().infer(
                model, list(inputs), model_version=model_version, outputs=requested, client_timeout=timeout_s
            )
        except InferenceServerException as exc:
            self._record(model, ok=False)
            raise InferenceUnavailableError(unavailable_reason(exc), f"{model}: {exc.message()}") from exc
        self._record(model, ok=True)
        return result

    def _record(self, model: str, *, ok: bool) -> None:
        with self._lock:
            breaker, now = self._breaker(model), self._clock()
            before = breaker.state(now)
            if ok:
                breaker.record_success(now)
            else:
                breaker.record_failure(now)
            after = breaker.state(now)
        if before != after:
            logger.warning("circuit model=%s from=%s to=%s url=%s", model, before.value, after.value, self.url)

    def run_sync(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``coro`` on the connection's own loop thread (for synchronous callers).

        Raises:
            InferenceUnavailableError: the coroutine did not finish within ``timeout_s`` plus a grace second.
        """
        try:
            return self._loop_thread.run(coro, timeout_s + _SYNC_GRACE_S)
        except TimeoutError as exc:
            raise InferenceUnavailableError(UnavailableReason.TIMEOUT, f"no answer within {timeout_s}s") from exc

    async def aclose(self) -> None:
        """Close the gRPC client of the running loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.pop(loop, None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close the owned loop thread and its client (clients on other loops close with :meth:`aclose`)."""
        if self._loop_thread.started:
            self._loop_thread.run(self.aclose(), timeout_s=5.0)
        self._loop_thread.close()
