"""Grounding retrieval: cosine top-k over catalogue item embeddings, with structured filters."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from schemas.catalogue import CatalogueItem
from serving.concierge.catalogue import CatalogueIndex
from serving.concierge.constraints import Constraints
from serving.concierge.embedding import Embedder, Embeddings, check_embeddings

__all__ = ["Hit", "RetrievalIndex", "SyncPlan", "item_text", "matches"]

_WORD: Final = re.compile(r"[a-z0-9]+")
_STOPWORDS: Final = frozenset((
    "a", "an", "and", "any", "are", "can", "do", "for", "have", "i", "in", "is", "it", "me", "my", "of", "on", "or",
    "please", "show", "some", "that", "the", "this", "to", "what", "which", "with", "you", "your", "would", "like",
    "looking", "want", "need",
))  # fmt: skip
_PRICE_EPSILON: Final = 1e-9


def item_text(item: CatalogueItem) -> str:
    """The text of an item that gets embedded: title, category and description.

    >>> from datetime import datetime, timezone
    >>> item_text(CatalogueItem(product_id="p1", updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     schema_version=1, title="Trail shoe", category="sports", price=80.0, stock=2, description="Grippy."))
    'Trail shoe. sports. Grippy.'
    """
    parts = (item.title, item.category, item.description)
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip()) + "."


def matches(item: CatalogueItem, constraints: Constraints) -> bool:
    """Whether ``item`` passes every filter in ``constraints`` (category compared case-insensitively)."""
    if constraints.category is not None and item.category.lower() != constraints.category.lower():
        return False
    if constraints.max_price is not None and item.price > constraints.max_price + _PRICE_EPSILON:
        return False
    if constraints.min_price is not None and item.price < constraints.min_price - _PRICE_EPSILON:
        return False
    return not (constraints.in_stock and item.stock <= 0)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved item and its similarity to the query (cosine, or token overlap for lexical search)."""

    item: CatalogueItem
    score: float


@dataclass(frozen=True, slots=True, eq=False)
class _Columns:
    """Column views of the indexed items for vectorised filtering, ranking and lexical scoring."""

    ids: npt.NDArray[np.str_]
    price: npt.NDArray[np.float64]
    in_stock: npt.NDArray[np.bool_]
    category: npt.NDArray[np.str_]
    word_counts: npt.NDArray[np.float64]
    postings: dict[str, npt.NDArray[np.int64]]

    @classmethod
    def build(cls, items: Sequence[CatalogueItem], texts: Sequence[str]) -> _Columns:
        postings: dict[str, list[int]] = {}
        counts: list[int] = []
        for pos, text in enumerate(texts):
            words = _words(text)
            counts.append(len(words))
            for word in words:
                postings.setdefault(word, []).append(pos)
        return cls(
            ids=np.array([i.product_id for i in items], dtype=np.str_),
            price=np.array([i.price for i in items], dtype=np.float64),
            in_stock=np.array([i.stock > 0 for i in items], dtype=np.bool_),
            category=np.array([i.category.lower() for i in items], dtype=np.str_),
            word_counts=np.array(counts, dtype=np.float64),
            postings={w: np.array(p, dtype=np.int64) for w, p in postings.items()},
        )

    def mask(self, constraints: Constraints) -> npt.NDArray[np.bool_]:
        """Which rows pass ``constraints`` (the vectorised :func:`matches`)."""
        keep = np.ones(self.ids.shape[0], dtype=np.bool_)
        if constraints.category is not None:
            keep &= self.category == constraints.category.lower()
        if constraints.max_price is not None:
            keep &= self.price <= constraints.max_price + _PRICE_EPSILON
        if constraints.min_price is not None:
            keep &= self.price >= constraints.min_price - _PRICE_EPSILON
        if constraints.in_stock:
            keep &= self.in_stock
        return keep


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOPWORDS


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What it takes to bring the index level with a catalogue.

    Attributes:
        to_embed: new items, or items whose text changed (need an embedding).
        to_refresh: items whose price/stock/etc. changed but not their text (no embedding needed).
        to_remove: ids the index holds that the catalogue no longer has.
    """

    to_embed: tuple[CatalogueItem, ...]
    to_refresh: tuple[CatalogueItem, ...]
    to_remove: tuple[str, ...]

    @property
    def texts(self) -> list[str]:
        """The texts to embed, in ``to_embed`` order."""
        return [item_text(item) for item in self.to_embed]

    @property
    def empty(self) -> bool:
        """Whether the index is already level with the catalogue."""
        return not (self.to_embed or self.to_refresh or self.to_remove)


class RetrievalIndex:
    """An in-memory embedding index over catalogue items: cosine top-k with filters, plus a lexical fallback.

    The embed function is not held: :meth:`plan_sync` says what needs embedding, the caller embeds (sync or
    async) and hands the vectors to :meth:`apply_sync`; :meth:`sync` does both with a synchronous embedder.
    Ties in score are broken by product id, so results are deterministic. Pickles.
    """

    __slots__ = ("_columns", "_dim", "_items", "_matrix", "_pos", "_texts")

    def __init__(self, dim: int | None = None) -> None:
        self._dim = dim
        self._items: list[CatalogueItem] = []
        self._texts: list[str] = []
        self._pos: dict[str, int] = {}
        self._matrix: Embeddings = np.zeros((0, dim or 0), dtype=np.float32)
        self._columns: _Columns | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._pos

    @property
    def dim(self) -> int | None:
        """The embedding width, fixed by the first vectors added (or the constructor)."""
        return self._dim

    def plan_sync(self, catalogue: CatalogueIndex) -> SyncPlan:
        """Compare the index with ``catalogue`` (O(N), no embedding)."""
        to_embed: list[CatalogueItem] = []
        to_refresh: list[CatalogueItem] = []
        live: set[str] = set()
        for item in catalogue.items():
            live.add(item.product_id)
            pos = self._pos.get(item.product_id)
            if pos is None or self._texts[pos] != item_text(item):
                to_embed.append(item)
            elif self._items[pos] != item:
                to_refresh.append(item)
        removed = tuple(sorted(pid for pid in self._pos if pid not in live))
        return SyncPlan(tuple(to_embed), tuple(to_refresh), removed)

    def apply_sync(self, plan: SyncPlan, embeddings: npt.ArrayLike) -> None:
        """Apply a plan with the embeddings of ``plan.texts``.

        Raises:
            EmbeddingShapeError: the embeddings do not match the plan or the index's width.
        """
        vectors = check_embeddings(embeddings, len(plan.to_embed), self._dim) if plan.to_embed else None
        if not plan.empty:
            self._columns = None
        for pid in plan.to_remove:
            self._remove(pid)
        for item in plan.to_refresh:
            self._items[self._pos[item.product_id]] = item
        if vectors is not None:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
                self._matrix = np.zeros((0, self._dim), dtype=np.float32)
            appended: list[int] = []
            for row, item in enumerate(plan.to_embed):
                pos = self._pos.get(item.product_id)
                if pos is None:
                    appended.append(row)
                    continue
                self._items[pos], self._texts[pos] = item, item_text(item)
                self._matrix[pos] = vectors[row]
            for row in appended:
                item = plan.to_embed[row]
                self._pos[item.product_id] = len(self._items)
                self._items.append(item)
                self._texts.append(item_text(item))
            self._matrix = np.vstack([self._matrix, vectors[appended]]) if appended else self._matrix

    def sync(self, catalogue: CatalogueIndex, embed: Embedder) -> SyncPlan:
        """Bring the index level with ``catalogue`` using a synchronous ``embed``; returns the applied plan."""
        plan = self.plan_sync(catalogue)
        texts = plan.texts
        self.apply_sync(plan, embed(texts) if texts else np.zeros((0, self._dim or 0), dtype=np.float32))
        return plan

    def _remove(self, product_id: str) -> None:
        pos = self._pos.pop(product_id)
        last = len(self._items) - 1
        if pos != last:
            self._items[pos], self._texts[pos] = self._items[last], self._texts[last]
            self._matrix[pos] = self._matrix[last]
            self._pos[self._items[pos].product_id] = pos
        self._items.pop()
        self._texts.pop()
        self._matrix = self._matrix[:last]

    def _cols(self) -> _Columns:
        if self._columns is None:
            self._columns = _Columns.build(self._items, self._texts)
        return self._columns

    def _rank(
        self,
        scores: npt.NDArray[np.float64],
        k: int,
        constraints: Constraints,
        demote: Collection[str],
        floor: float | None,
    ) -> list[Hit]:
        cols = self._cols()
        keep = cols.mask(constraints)
        if floor is not None:
            keep &= scores >= floor
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            return []
        demoted = np.isin(cols.ids[rows], list(demote)) if demote else np.zeros(rows.size, dtype=np.bool_)
        order = np.lexsort((cols.ids[rows], -scores[rows], demoted))[:k]
        return [Hit(self._items[int(r)], float(scores[r])) for r in rows[order]]

    def search(
        self,
        query: npt.ArrayLike,
        k: int,
        constraints: Constraints = Constraints(),  # noqa: B008 - frozen, immutable default
        demote: Collection[str] = (),
        min_score: float | None = None,
    ) -> list[Hit]:
        """The ``k`` items most similar to ``query`` that pass ``constraints``.

        Args:
            query: one embedding (``[D]`` or ``[1, D]``), normalised here.
            k: how many hits at most.
            constraints: filters every hit must pass.
            demote: ids to rank after every other match (e.g. items already shown in this conversation).
            min_score: leave out items with a lower cosine similarity (``None``: no floor).

        Returns:
            Up to ``k`` hits, best first (non-demoted before demoted; ties by product id).

        Raises:
            EmbeddingShapeError: ``query`` has the wrong width.
        """
        if not self._items:
            return []
        vector = check_embeddings(np.asarray(query, dtype=np.float32).reshape(1, -1), 1, self._dim)[0]
        scores = (self._matrix @ vector).astype(np.float64)
        return self._rank(scores, k, constraints, demote, min_score)

    def search_lexical(
        self,
        query: str,
        k: int,
        constraints: Constraints = Constraints(),  # noqa: B008 - frozen, immutable default
        demote: Collection[str] = (),
    ) -> list[Hit]:
        """Token-overlap search for when no query embedding is at hand (the synchronous template path).

        Scores are cosine similarities of word sets (stop words removed). Without any filter, items sharing no
        word with the query are left out; with a filter, every matching item is a candidate.
        """
        if not self._items:
            return []
        cols = self._cols()
        words = _words(query)
        overlap = np.zeros(len(self._items), dtype=np.float64)
        for word in words:
            rows = cols.postings.get(word)
            if rows is not None:
                overlap[rows] += 1.0
        scores = overlap / np.sqrt(max(len(words), 1) * np.maximum(cols.word_counts, 1.0))
        return self._rank(scores, k, constraints, demote, 1e-12 if constraints.empty else None)
