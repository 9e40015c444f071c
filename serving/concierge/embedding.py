"""The embedding and generation seams (Protocols), a shape check, and a deterministic hashing embedder."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from serving.concierge.errors import EmbeddingShapeError

__all__ = [
    "EMBEDDING_DIM",
    "AsyncEmbedder",
    "Embedder",
    "Embeddings",
    "Generator",
    "HashingEmbedder",
    "check_embeddings",
]

EMBEDDING_DIM: Final = 384
"""Width of the production text encoder's output (all-MiniLM-L6-v2)."""

Embeddings = npt.NDArray[np.float32]
"""A ``[N, D]`` float32 matrix, one L2-normalised row per text."""

_WORD: Final = re.compile(r"[a-z0-9]+")


class Embedder(Protocol):
    """Synchronous text encoder: ``N`` texts in, a ``[N, D]`` matrix of normalised rows out."""

    def __call__(self, texts: Sequence[str], /) -> npt.NDArray[np.floating]:
        """Embed ``texts``."""
        ...


class AsyncEmbedder(Protocol):
    """Asynchronous text encoder (in production the Triton ``kairos_text_encoder`` client)."""

    async def __call__(self, texts: Sequence[str], /) -> npt.NDArray[np.floating]:
        """Embed ``texts``."""
        ...


class Generator(Protocol):
    """Asynchronous language model (in production the Triton ``kairos_concierge_lm`` client).

    ``messages`` are chat messages (``{"role": "system"|"user"|"assistant", "content": ...}``) to be rendered
    with the model's chat template. The call returns the assistant's text, greedy-decoded, and raises
    ``TimeoutError`` past ``timeout_s`` or a ``TransientError`` when the server fails. Arguments are passed by
    position, so ``serving.inference.TextClient.generate`` fits as is.
    """

    async def __call__(self, messages: Sequence[Mapping[str, str]], max_new_tokens: int, timeout_s: float, /) -> str:
        """Generate a reply to ``messages``."""
        ...


def check_embeddings(matrix: npt.ArrayLike, rows: int, dim: int | None = None) -> Embeddings:
    """Validate an embed function's output and return it as float32 with unit-length rows.

    Args:
        matrix: what the embed function returned.
        rows: how many texts were embedded.
        dim: the expected width, when known.

    Returns:
        A ``[rows, D]`` float32 array; zero rows stay zero, every other row has norm 1.

    Raises:
        EmbeddingShapeError: not 2-D, wrong number of rows or width, or non-finite values.
    """
    array = np.asarray(matrix, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != rows or (dim is not None and array.shape[1] != dim):
        raise EmbeddingShapeError(f"expected [{rows}, {dim if dim is not None else 'D'}], got {list(array.shape)}")
    if not np.all(np.isfinite(array)):
        raise EmbeddingShapeError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    normalised: Embeddings = np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)
    return normalised


class HashingEmbedder:
    """Hashed bag of words and word bigrams, signed and normalised: deterministic and dependency-free.

    A stand-in for the real encoder in unit tests and offline runs: texts sharing words are close, synonyms are
    not. Stable across processes (BLAKE2b, not Python's salted ``hash``).

    >>> embed = HashingEmbedder(dim=64)
    >>> vectors = embed(["red shoes", "red shoes", "blue kettle"])
    >>> vectors.shape, bool(vectors[0] @ vectors[1] > 0.99), bool(abs(vectors[0] @ vectors[2]) < 0.5)
    ((3, 64), True, True)
    """

    __slots__ = ("dim",)

    def __init__(self, dim: int = EMBEDDING_DIM) -> None:
        self.dim = dim

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]

    def __call__(self, texts: Sequence[str]) -> Embeddings:
        """Embed ``texts`` as ``[len(texts), dim]`` float32 rows."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        return check_embeddings(out, len(texts), self.dim)
