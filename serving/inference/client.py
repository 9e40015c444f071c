"""Clients of the Kairos models on Triton: the policy (hot path, with a sync facade) and the text models.

Every call is one gRPC request with its own deadline; concurrent policy calls are grouped by Triton's dynamic
batcher. Failures raise :class:`InferenceUnavailableError` (a ``TransientError``): the caller falls back and
records ``policy_source="fallback"``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from tritonclient.grpc import aio as grpcaio

from serving.inference.breaker import BreakerState
from serving.inference.config import ENCODER_MODEL, LM_MODEL, POLICY_MODEL
from serving.inference.connection import TritonConnection
from serving.inference.errors import InferenceUnavailableError, UnavailableReason
from serving.inference.model_configs import INTENT_MODEL

__all__ = ["IntentClient", "IntentScores", "PolicyClient", "TextAnalysis", "TextClient"]

FloatArray = npt.NDArray[np.float32]


def _input(name: str, array: npt.NDArray[Any], datatype: str) -> grpcaio.InferInput:
    tensor = grpcaio.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def _output(result: grpcaio.InferResult, name: str) -> FloatArray:
    array = result.as_numpy(name)
    if array is None:  # e.g. INTENT_LOGITS asked of an encoder deployed without its head
        raise InferenceUnavailableError(UnavailableReason.SERVER_ERROR, f"the response has no {name} output")
    return np.asarray(array, dtype=np.float32)


class _Client:
    """What every client shares: a connection it opened itself (and closes) or one it was given (and leaves open)."""

    def __init__(self, connection: TritonConnection | str) -> None:
        self._owned = isinstance(connection, str)
        self.connection = TritonConnection(connection) if isinstance(connection, str) else connection

    async def aclose(self) -> None:
        """Close the running loop's gRPC client if this client opened the connection."""
        if self._owned:
            await self.connection.aclose()

    def close(self) -> None:
        """Close the connection (and its loop thread) if this client opened it."""
        if self._owned:
            self.connection.close()


class PolicyClient(_Client):
    """Scores candidates with ``kairos_policy``.

    Args:
        connection: a :class:`TritonConnection`, or the gRPC ``host:port`` to open one (owned, closed by
            :meth:`close`).
        timeout_s: the default per-call deadline.
        max_batch_size: the model's ``max_batch_size`` (rows per request).
        model: the model name.
        model_version: the version every request pins ("": the latest the server serves); the decision stage sets
            it to the version its local policy copy holds, so the logged version names the weights that scored.
    """

    def __init__(
        self,
        connection: TritonConnection | str,
        *,
        timeout_s: float = 0.05,
        max_batch_size: int = 64,
        model: str = POLICY_MODEL,
        model_version: str = "",
    ) -> None:
        super().__init__(connection)
        self.timeout_s = timeout_s
        self.max_batch_size = max_batch_size
        self.model = model
        self.model_version = model_version

    def _inputs(
        self, states: npt.ArrayLike, candidates: npt.ArrayLike, mask: npt.ArrayLike
    ) -> list[grpcaio.InferInput]:
        s = np.ascontiguousarray(states, dtype=np.float32)
        c = np.ascontiguousarray(candidates, dtype=np.float32)
        m = np.ascontiguousarray(mask, dtype=np.bool_)
        if s.ndim != 2 or c.ndim != 3 or m.ndim != 2:
            raise ValueError(f"expected states[N,S], candidates[N,K,A], mask[N,K]; got {s.shape}, {c.shape}, {m.shape}")
        n, k = c.shape[0], c.shape[1]
        if s.shape[0] != n or m.shape != (n, k):
            raise ValueError(f"batch/candidate sizes disagree: states {s.shape}, candidates {c.shape}, mask {m.shape}")
        if not 1 <= n <= self.max_batch_size:
            raise ValueError(f"batch of {n} rows; one request carries 1..{self.max_batch_size}")
        return [_input("STATE", s, "FP32"), _input("CANDIDATES", c, "FP32"), _input("MASK", m, "BOOL")]

    async def score(
        self,
        states: npt.ArrayLike,
        candidates: npt.ArrayLike,
        mask: npt.ArrayLike,
        timeout_s: float | None = None,
    ) -> FloatArray:
        """Scores ``[N, K]`` for ``states[N, S]``, ``candidates[N, K, A]``, ``mask[N, K]`` (one request).

        Raises:
            ValueError: the arrays' shapes disagree (a caller bug; not counted against the server).
            InferenceUnavailableError: no answer (circuit open, timeout, server down or failing).
        """
        inputs = self._inputs(states, candidates, mask)
        deadline = self.timeout_s if timeout_s is None else timeout_s
        result = await self.connection.infer(self.model, inputs, ("SCORES",), deadline, self.model_version)
        return _output(result, "SCORES")

    def score_sync(
        self,
        states: npt.ArrayLike,
        candidates: npt.ArrayLike,
        mask: npt.ArrayLike,
        timeout_s: float | None = None,
    ) -> FloatArray:
        """:meth:`score` from a synchronous thread (runs on the connection's own loop thread).

        Raises:
            ValueError: see :meth:`score`.
            InferenceUnavailableError: see :meth:`score`.
        """
        deadline = self.timeout_s if timeout_s is None else timeout_s
        return self.connection.run_sync(self.score(states, candidates, mask, deadline), deadline)

    @property
    def breaker_state(self) -> BreakerState:
        """The policy's circuit state now."""
        return self.connection.breaker_state(self.model)


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """The encoder's outputs for N texts: embeddings [N,384]; the head's outputs when it is deployed."""

    embedding: FloatArray
    intent_logits: FloatArray
    sentiment: FloatArray


class TextClient(_Client):
    """Embeds texts (``kairos_text_encoder``) and writes concierge replies (``kairos_concierge_lm``).

    Args:
        connection: a :class:`TritonConnection`, or the gRPC ``host:port`` to open one (owned).
        embed_timeout_s: default deadline of an encoder call.
        generate_timeout_s: default deadline of a generation (SmolLM2 writes ~13 tokens/s on one CPU core).
        max_batch_size: the encoder's ``max_batch_size``; longer lists go as several concurrent requests.
    """

    def __init__(
        self,
        connection: TritonConnection | str,
        *,
        embed_timeout_s: float = 1.0,
        generate_timeout_s: float = 30.0,
        max_batch_size: int = 32,
    ) -> None:
        super().__init__(connection)
        self.embed_timeout_s = embed_timeout_s
        self.generate_timeout_s = generate_timeout_s
        self.max_batch_size = max_batch_size

    async def _encode(
        self, texts: Sequence[str], outputs: tuple[str, ...], timeout_s: float | None
    ) -> list[FloatArray]:
        if not texts:
            raise ValueError("no texts to encode")
        deadline = self.embed_timeout_s if timeout_s is None else timeout_s
        parts = []
        for start in range(0, len(texts), self.max_batch_size):
            chunk = np.array(
                [[t.encode("utf-8")] for t in texts[start : start + self.max_batch_size]], dtype=np.object_
            )
            result = await self.connection.infer(ENCODER_MODEL, [_input("TEXT", chunk, "BYTES")], outputs, deadline)
            parts.append([_output(result, name) for name in outputs])
        return [np.concatenate([p[i] for p in parts]) for i in range(len(outputs))]

    async def embed(self, texts: Sequence[str], timeout_s: float | None = None) -> FloatArray:
        """L2-normalised all-MiniLM-L6-v2 embeddings ``[N, 384]`` of ``texts``.

        Raises:
            InferenceUnavailableError: no answer.
        """
        (embedding,) = await self._encode(texts, ("EMBEDDING",), timeout_s)
        return embedding

    async def analyse(self, texts: Sequence[str], timeout_s: float | None = None) -> TextAnalysis:
        """Embeddings plus the head's intent logits and sentiment (needs ``head.pt`` deployed with the encoder).

        Raises:
            InferenceUnavailableError: no answer, or no head deployed (reason ``server_error``).
        """
        embedding, intent, sentiment = await self._encode(texts, ("EMBEDDING", "INTENT_LOGITS", "SENTIMENT"), timeout_s)
        return TextAnalysis(embedding, intent, sentiment)

    async def generate(
        self,
        prompt: str | Sequence[Mapping[str, str]],
        max_new_tokens: int | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """A greedy (deterministic) reply from the concierge LM.

        Args:
            prompt: plain text (sent as one user message) or chat messages ``[{"role": ..., "content": ...}]``.
            max_new_tokens: reply length cap; the model's default when omitted.
            timeout_s: the call's deadline (default ``generate_timeout_s``).

        Raises:
            InferenceUnavailableError: no answer.
        """
        text = prompt if isinstance(prompt, str) else json.dumps([dict(m) for m in prompt])
        inputs = [_input("PROMPT", np.array([text.encode("utf-8")], dtype=np.object_), "BYTES")]
        if max_new_tokens is not None:
            inputs.append(_input("MAX_NEW_TOKENS", np.array([max_new_tokens], dtype=np.int32), "INT32"))
        deadline = self.generate_timeout_s if timeout_s is None else timeout_s
        result = await self.connection.infer(LM_MODEL, inputs, ("TEXT",), deadline)
        reply = result.as_numpy("TEXT")
        if reply is None or reply.size != 1:
            raise InferenceUnavailableError(UnavailableReason.SERVER_ERROR, "the response has no TEXT output")
        value = reply.reshape(-1)[0]
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class IntentScores:
    """``kairos_intent``'s reading of N texts: intent probabilities [N,C] (columns in the head's class order) and
    sentiment [N] (``p(positive) - p(negative)``, -1..1)."""

    intent_probs: FloatArray
    sentiment: FloatArray


class IntentClient(_Client):
    """Classifies chat texts with ``kairos_intent`` (encoder + head in one model), under a deadline and a breaker.

    Args:
        connection: a :class:`TritonConnection`, or the gRPC ``host:port`` to open one (owned).
        timeout_s: the default per-call deadline (the feature stage waits at most this long).
        max_batch_size: the model's ``max_batch_size``; longer lists go as several requests.
        model: the model name.
    """

    def __init__(
        self,
        connection: TritonConnection | str,
        *,
        timeout_s: float = 0.05,
        max_batch_size: int = 32,
        model: str = INTENT_MODEL,
    ) -> None:
        super().__init__(connection)
        self.timeout_s = timeout_s
        self.max_batch_size = max_batch_size
        self.model = model

    async def classify(self, texts: Sequence[str], timeout_s: float | None = None) -> IntentScores:
        """Intent probabilities and sentiment of ``texts`` (requests of up to ``max_batch_size``, sent together).

        Raises:
            ValueError: no texts.
            InferenceUnavailableError: no answer within the deadline (circuit open, timeout, server down or
                failing, model not loaded).
        """
        if not texts:
            raise ValueError("no texts to classify")
        deadline = self.timeout_s if timeout_s is None else timeout_s
        calls = []
        for start in range(0, len(texts), self.max_batch_size):
            chunk = np.array(
                [[t.encode("utf-8")] for t in texts[start : start + self.max_batch_size]], dtype=np.object_
            )
            inputs = [_input("TEXT", chunk, "BYTES")]
            calls.append(self.connection.infer(self.model, inputs, ("INTENT_PROBS", "SENTIMENT"), deadline))
        results = await asyncio.gather(*calls)
        probs = np.concatenate([_output(r, "INTENT_PROBS") for r in results])
        sentiment = np.concatenate([_output(r, "SENTIMENT").reshape(-1) for r in results])
        return IntentScores(probs, sentiment)

    def classify_sync(self, texts: Sequence[str], timeout_s: float | None = None) -> IntentScores:
        """:meth:`classify` from a synchronous thread (on the connection's loop thread), bounded by the deadline.

        Raises:
            ValueError: see :meth:`classify`.
            InferenceUnavailableError: see :meth:`classify`.
        """
        deadline = self.timeout_s if timeout_s is None else timeout_s
        return self.connection.run_sync(self.classify(texts, deadline), deadline)

    @property
    def breaker_state(self) -> BreakerState:
        """The model's circuit state now."""
        return self.connection.breaker_state(self.model)
