"""``kairos bench concierge``: how often the served language model's replies pass the reply contract.

A fixed set of shopper questions (open questions, so each reaches the model) over a fixed small shop, each with the
decision's action to convey (nothing, a product, a discount, a category), goes through the real concierge
(:class:`~serving.concierge.Concierge`: routing, retrieval on the served encoder, the prompt, validation, the
contract) with the real served model (``kairos_concierge_lm`` on the embedded Triton server, greedy, so the run is
deterministic). Counted per question: whether the model's text was accepted (``source == "lm"``) or the template
stood in and why, and a grounding check on accepted replies (it names at least one product, and every product id
it names is in the shop and was retrieved or offered; the service has already checked the message contract).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from kairos.progress import track
from kairos.serving import prepare_repository, triton_config
from kairos.settings import Settings
from schemas.catalogue import CatalogueItem
from schemas.decisions import Action, InterventionType
from serving.concierge import CatalogueIndex, ChatTurn, Concierge, ConciergeConfig
from serving.inference import TextClient, start_triton

__all__ = ["QUESTIONS", "SHOP", "run"]

_T0: Final = datetime(2026, 1, 1, tzinfo=UTC)


def _item(pid: str, title: str, category: str, price: float, description: str) -> CatalogueItem:
    return CatalogueItem(
        product_id=pid,
        updated_at=_T0,
        schema_version=1,
        title=title,
        category=category,
        price=price,
        stock=5,
        description=description,
    )


SHOP: Final = (
    _item("p00001", "Trail running shoe", "sports", 79.0, "Grippy outsole for muddy trails, 280 g."),
    _item("p00002", "Yoga mat", "sports", 25.0, "Non-slip mat, 6 mm thick."),
    _item("p00003", "Crime novel", "books", 12.5, "A gripping thriller set in Oslo."),
    _item("p00004", "Poetry collection", "books", 9.99, "Modern poems about the sea."),
    _item("p00005", "Desk lamp", "home", 34.0, "LED desk lamp with a dimmer."),
    _item("p00006", "Ceramic mug", "home", 8.5, "Holds 350 ml, 100% stoneware."),
    _item("p00007", "Noise-cancelling headphones", "electronics", 149.0, "Quiet on trains, 30 h battery."),
    _item("p00008", "Wireless earbuds", "electronics", 59.0, "Compact earbuds with a charging case."),
    _item("p00009", "Rain jacket", "clothing", 89.0, "Waterproof shell with taped seams and a hood."),
    _item("p00010", "Wool socks", "clothing", 14.0, "Merino socks, warm and breathable."),
    _item("p00011", "Espresso maker", "home", 45.0, "Stovetop moka pot for six cups."),
    _item("p00012", "Running cap", "sports", 19.0, "Light cap that dries fast."),
)

_IDS: Final = frozenset(item.product_id for item in SHOP)
_NONE: Final = Action(type=InterventionType.NONE)


def _product(kind: InterventionType, pid: str, discount: float | None = None) -> Action:
    return Action(type=kind, product_id=pid, discount_pct=discount)


QUESTIONS: Final[tuple[tuple[str, Action], ...]] = (
    ("Which shoes would you recommend for running on muddy trails?", _NONE),
    ("I need something to keep me dry when hiking in the rain, any ideas?", _NONE),
    ("What is a good gift for someone who loves reading thrillers?", _NONE),
    ("Can you suggest headphones for long train journeys?", _NONE),
    ("I want to make better coffee at home, what do you have?", _NONE),
    ("What would go well with my new yoga mat?", _product(InterventionType.CROSS_SELL, "p00012")),
    ("Are the wireless earbuds good for the gym?", _product(InterventionType.UPSELL, "p00007")),
    ("I'm looking for warm socks for winter walks.", _product(InterventionType.DISCOUNT, "p00010", 10.0)),
    ("Is there a nice mug to go with an espresso maker?", _product(InterventionType.CROSS_SELL, "p00006")),
    ("Tell me about your rain jacket, is it really waterproof?", _product(InterventionType.DISCOUNT, "p00009", 15.0)),
    ("I read a lot of poetry, what could I try next?", _product(InterventionType.CROSS_SELL, "p00004")),
    ("Which of your lamps is best for reading at a desk?", _product(InterventionType.DISCOUNT, "p00005", 5.0)),
    ("Do you have anything for a beginner runner?", Action(type=InterventionType.CROSS_SELL, category="sports")),
    ("I'm redecorating my kitchen, what do you suggest?", Action(type=InterventionType.CROSS_SELL, category="home")),
    ("What are the most comfortable earbuds you sell?", _NONE),
    ("Something light to wear on a sunny run?", _product(InterventionType.UPSELL, "p00012")),
)
"""(shopper message, the decision's action) pairs; every message is an open question (it reaches the model)."""


async def _answer_all(concierge: Concierge, timeout_s: float) -> list[dict[str, Any]]:
    rows = []
    for n, (message, action) in enumerate(track(QUESTIONS, "bench concierge: questions", unit="q")):
        began = time.perf_counter()
        turn = ChatTurn(session_id=f"s{n}", message=message, action=action, decision_id=f"d{n}")
        reply = (await concierge.answer(turn, timeout_s=timeout_s)).reply
        named = set(reply.product_ids)
        allowed = set(reply.retrieved_ids) | ({reply.offer_product_id} if reply.offer_product_id else set())
        rows.append(
            {
                "message": message,
                "action": action.type.value,
                "route": reply.route,
                "source": reply.source,
                "fallback_reason": reply.fallback_reason,
                "violations": list(reply.violations),
                "grounded": reply.source == "lm" and bool(named) and named <= allowed and named <= _IDS,
                "text": reply.text,
                "seconds": round(time.perf_counter() - began, 2),
            }
        )
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    reached = [r for r in rows if r["fallback_reason"] not in ("immediate", "lm_skipped") and r["source"] != "rules"]
    passed = [r for r in reached if r["source"] == "lm"]
    return {
        "questions": len(rows),
        "reached_model": len(reached),
        "passed": len(passed),
        "pass_rate": round(len(passed) / len(reached), 3) if reached else None,
        "grounded": sum(1 for r in passed if r["grounded"]),
        "fallback_reasons": dict(Counter(r["fallback_reason"] for r in reached if r["source"] != "lm")),
        "violations": dict(Counter(v for r in reached for v in r["violations"])),
        "routes": dict(Counter(r["route"] for r in rows)),
        "replies": rows,
    }


async def _both(client: TextClient, timeout_s: float) -> dict[str, Any]:
    """The questions answered without and with the reply opening, on one server and one retrieval index."""
    out = {}
    concierge = None
    for name, opening in (("plain_prompt", False), ("reply_opening", True)):
        config = ConciergeConfig(generate_timeout_s=timeout_s, embed_timeout_s=timeout_s, reply_opening=opening)
        concierge = Concierge(
            CatalogueIndex(SHOP),
            embed=lambda texts: client.embed(texts, timeout_s),  # the catalogue sync too, on a busy machine
            generate=client.generate,
            config=config,
        )
        await concierge.sync_index()
        out[name] = _summary(await _answer_all(concierge, timeout_s))
    return out


def run(*, timeout_s: float = 120.0, settings: Settings | None = None) -> dict[str, Any]:
    """Start the embedded Triton server with the concierge model and answer :data:`QUESTIONS` twice: with the plain
    prompt and with the reply opening (``ConciergeConfig.reply_opening``, the worker's setting); count (see above).
    """
    settings = settings or Settings()
    with tempfile.TemporaryDirectory(prefix="kairos-bench-concierge-") as tmp:
        serving = replace(settings.serving, repository=str(Path(tmp) / "models"), load_lm=True)
        settings = replace(settings, serving=serving)
        prepare_repository(settings)
        triton = start_triton(triton_config(settings, free_ports=True), Path(tmp) / "triton.log")
        try:
            out = asyncio.run(_both(TextClient(triton.grpc_url), timeout_s))
        finally:
            triton.stop()
    out["headline"] = {name: {k: out[name][k] for k in ("pass_rate", "passed", "grounded")} for name in list(out)}
    return out
