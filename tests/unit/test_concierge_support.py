"""Shared builders and fakes for the concierge tests (a small shop, a hashed embedder, a scripted model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from schemas.catalogue import CatalogueItem
from serving.concierge import CatalogueIndex, Concierge, ConciergeConfig, Generator, HashingEmbedder

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EMBED = HashingEmbedder(dim=128)


def item(
    pid: str,
    title: str,
    category: str,
    price: float,
    *,
    stock: int = 5,
    description: str = "",
    active: bool = True,
    minutes: int = 0,
) -> CatalogueItem:
    return CatalogueItem(
        product_id=pid,
        updated_at=T0 + timedelta(minutes=minutes),
        schema_version=1,
        title=title,
        category=category,
        price=price,
        stock=stock,
        description=description,
        active=active,
    )


SHOP = (
    item("p00001", "Trail running shoe", "sports", 79.0, description="Grippy outsole for muddy trails."),
    item("p00002", "Yoga mat", "sports", 25.0, description="Non-slip mat, 6 mm thick."),
    item("p00003", "Crime novel", "books", 12.5, description="A gripping thriller set in Oslo."),
    item("p00004", "Poetry collection", "books", 9.99, description="Modern poems about the sea."),
    item("p00005", "Desk lamp", "home", 34.0, stock=0, description="LED desk lamp with a dimmer."),
    item("p00006", "Ceramic mug", "home", 8.5, description="Holds 350 ml, 100% stoneware."),
    item("p00007", "Noise-cancelling headphones", "electronics", 149.0, description="Quiet on trains, 30 h battery."),
    item("p00008", "Wireless earbuds", "electronics", 59.0, description="Compact earbuds with a charging case."),
)


def catalogue() -> CatalogueIndex:
    return CatalogueIndex(SHOP)


async def async_embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    return EMBED(texts)


class ScriptedModel:
    """A fake language model: returns scripted outputs in turn (or raises them) and records its prompts."""

    def __init__(self, *outputs: str | BaseException) -> None:
        self.outputs = list(outputs)
        self.prompts: list[list[dict[str, str]]] = []

    async def __call__(self, messages: Sequence[Mapping[str, str]], max_new_tokens: int, timeout_s: float) -> str:
        self.prompts.append([dict(m) for m in messages])
        out = self.outputs.pop(0)
        if isinstance(out, BaseException):
            raise out
        return out


def concierge(model: Generator | None = None, config: ConciergeConfig | None = None) -> Concierge:
    c = Concierge(
        catalogue(),
        embed=async_embed,
        generate=model if model is not None else ScriptedModel(),
        config=config if config is not None else ConciergeConfig(min_similarity=-1.0),
    )
    c.sync_index_with(EMBED)
    return c


def test_the_shop_is_consistent() -> None:
    shop = catalogue()
    assert len(shop) == len(SHOP)
    assert shop.categories == ("books", "electronics", "home", "sports")
