"""The concierge core: one chat turn from message to validated :class:`ConciergeReply`, I/O injected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from schemas.catalogue import CatalogueItem
from schemas.decisions import Action
from schemas.errors import TransientError
from serving.concierge.catalogue import CatalogueChange, CatalogueIndex
from serving.concierge.config import ConciergeConfig
from serving.concierge.constraints import Constraints, extract_constraints
from serving.concierge.dialogue import DialogueState, TurnSummary, advance, merge_constraints
from serving.concierge.embedding import AsyncEmbedder, Embedder, Generator, check_embeddings
from serving.concierge.errors import EmbeddingShapeError
from serving.concierge.grounding import contract_violations, find_mentions, id_regex
from serving.concierge.intent import IntentHead, IntentPrediction
from serving.concierge.offer import Offer, offer_from_action
from serving.concierge.prompt import build_prompt
from serving.concierge.reply import ConciergeReply, Grounding, ReplySource, build_reply, check_lm_text
from serving.concierge.retrieval import Hit, RetrievalIndex, SyncPlan, item_text, matches
from serving.concierge.router import Route, RouteDecision, route_message
from serving.concierge.templates import template_body

__all__ = ["ChatTurn", "Concierge", "TurnResult"]

logger = logging.getLogger(__name__)

_EMBED_BATCH = 64
_UNRESOLVED_ROUTES = frozenset({Route.CLARIFY, Route.HUMAN_HANDOFF})


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One shopper message to answer.

    Attributes:
        session_id: the conversation.
        message: the shopper's text.
        action: the decision's action to convey (the policy decides what; ``None``: nothing).
        decision_id: the decision this turn belongs to (the follow-up message is keyed by it).
        state: the conversation's state before this turn (``None``: a new conversation).
    """

    session_id: str
    message: str
    action: Action | None = None
    decision_id: str | None = None
    state: DialogueState | None = None


@dataclass(frozen=True, slots=True)
class TurnResult:
    """A reply and the conversation's state after it (store it for the next turn)."""

    reply: ConciergeReply
    state: DialogueState


@dataclass(frozen=True, slots=True)
class _Plan:
    state: DialogueState
    turn_constraints: Constraints
    constraints: Constraints
    decision: RouteDecision
    offer: Offer | None
    conveyed: Offer | None
    offer_dropped: tuple[str, ...]
    query: str
    intent: IntentPrediction | None


class Concierge:
    """Answers chat turns: route, then a fixed answer, or retrieve + prompt + generate + validate, or a template.

    I/O is injected: ``embed`` (the text encoder) and ``generate`` (the language model) are async callables.
    :meth:`answer_with_template` is synchronous and touches neither, for the decision path; :meth:`answer` is
    the full turn, run off the decision path (see :class:`~serving.concierge.work_queue.ConciergeQueue`).
    Replies never raise for a slow or failing model: they fall back to the template and say why.
    """

    def __init__(
        self,
        catalogue: CatalogueIndex,
        *,
        embed: AsyncEmbedder,
        generate: Generator,
        config: ConciergeConfig | None = None,
        index: RetrievalIndex | None = None,
        head: IntentHead | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.index = index if index is not None else RetrievalIndex()
        self.config = config if config is not None else ConciergeConfig()
        self.head = head
        self._embed = embed
        self._generate = generate
        self._ids = id_regex(self.config.product_id_pattern)
        self._sync_lock = asyncio.Lock()

    # -- catalogue ---------------------------------------------------------------------------------------------

    def apply_catalogue(self, item: CatalogueItem) -> CatalogueChange:
        """Fold a catalogue record in; the retrieval index catches up on the next :meth:`sync_index`."""
        return self.catalogue.apply(item)

    async def sync_index(self) -> SyncPlan:
        """Embed new or changed items (in batches) and bring the retrieval index level with the catalogue.

        Concurrent calls are serialised (a plan is applied before the next one is made).
        """
        async with self._sync_lock:
            return await self._sync_index()

    async def _sync_index(self) -> SyncPlan:
        plan = self.index.plan_sync(self.catalogue)
        texts = plan.texts
        chunks = []
        for start in range(0, len(texts), _EMBED_BATCH):
            batch = texts[start : start + _EMBED_BATCH]
            chunks.append(check_embeddings(await self._embed(batch), len(batch)))
        self.index.apply_sync(plan, np.vstack(chunks) if chunks else np.zeros((0, self.index.dim or 0), np.float32))
        return plan

    def sync_index_with(self, embed: Embedder) -> SyncPlan:
        """:meth:`sync_index` with a synchronous encoder (tests, offline runs)."""
        return self.index.sync(self.catalogue, embed)

    # -- turns -------------------------------------------------------------------------------------------------

    def _plan(self, turn: ChatTurn, intent: IntentPrediction | None) -> _Plan:
        state = turn.state if turn.state is not None else DialogueState(session_id=turn.session_id)
        now = extract_constraints(turn.message, self.catalogue.categories)
        decision = route_message(turn.message, self.config, intent, has_constraints=not now.empty)
        offer = offer_from_action(turn.action, self.catalogue, self.config.max_discount_pct)
        conveyed = offer if offer is not None and decision.spec.conveys_offer else None
        dropped = offer.dropped if offer is not None else ()
        if offer is not None and offer.states_something and conveyed is None:
            dropped = (*dropped, "route_suppressed")
        query = f"{state.unresolved} {turn.message}" if state.unresolved else turn.message
        constraints = merge_constraints(state.constraints, now)
        return _Plan(state, now, constraints, decision, offer, conveyed, dropped, query, intent)

    def _live(self, hits: Sequence[Hit], constraints: Constraints) -> list[Hit]:
        """Hits re-read from the live catalogue (the index may lag a price or stock change)."""
        live = []
        for hit in hits:
            item = self.catalogue.get(hit.item.product_id)
            if item is not None and matches(item, constraints):
                live.append(Hit(item, hit.score))
        return live

    def _finish(
        self,
        turn: ChatTurn,
        plan: _Plan,
        body: str,
        source: ReplySource,
        retrieved_ids: Sequence[str],
        *,
        fallback_reason: str | None = None,
        violations: Sequence[str] = (),
    ) -> TurnResult:
        reply = build_reply(
            body,
            source=source,
            route=plan.decision.route.value,
            offer=plan.conveyed,
            retrieved_ids=retrieved_ids,
            catalogue_ids=self.catalogue,
            config=self.config,
            decision_id=turn.decision_id,
            fallback_reason=fallback_reason,
            violations=violations,
            offer_dropped=plan.offer_dropped,
        )
        resolved = plan.decision.route not in _UNRESOLVED_ROUTES and not (
            plan.decision.route is Route.OPEN_QUESTION and not retrieved_ids and plan.conveyed is None
        )
        summary = TurnSummary(
            message=turn.message,
            route=plan.decision.route.value,
            intent=plan.intent.intent if plan.intent is not None else None,
            constraints=plan.turn_constraints,
            shown_ids=reply.product_ids,
            resolved=resolved,
        )
        return TurnResult(reply, advance(plan.state, summary, self.config.max_shown_ids))

    def _template(
        self, turn: ChatTurn, plan: _Plan, hits: Sequence[Hit], reason: str | None, violations: Sequence[str] = ()
    ) -> TurnResult:
        body = template_body(plan.decision, plan.conveyed, hits, self.config.answers)
        source: ReplySource = "rules" if plan.decision.spec.answer is not None else "template"
        ids = [h.item.product_id for h in hits]
        reason = reason if source == "template" else None
        return self._finish(turn, plan, body, source, ids, fallback_reason=reason, violations=violations)

    def answer_with_template(self, turn: ChatTurn) -> TurnResult:
        """Answer at once without the models: a fixed answer, or lexically retrieved items plus the offer.

        Synchronous and I/O-free, for the decision path: the decision publishes this reply immediately; the
        model-rendered reply, if it comes within its deadline, follows keyed by the decision id.
        """
        plan = self._plan(turn, None)
        hits: list[Hit] = []
        if plan.decision.uses_lm:
            found = self.index.search_lexical(plan.query, self.config.top_k, plan.constraints, plan.state.shown_ids)
            hits = self._live(found, plan.constraints)
        return self._template(turn, plan, hits, "immediate")

    async def _embed_query(self, text: str) -> npt.NDArray[np.float32] | None:
        try:
            raw = await asyncio.wait_for(self._embed([text]), self.config.embed_timeout_s)
            vector: npt.NDArray[np.float32] = check_embeddings(raw, 1, self.index.dim)[0]
            return vector
        except (TimeoutError, TransientError, OSError, EmbeddingShapeError) as exc:
            logger.warning("concierge embed failed error=%s", type(exc).__name__)
            return None

    async def answer(self, turn: ChatTurn, timeout_s: float | None = None) -> TurnResult:
        """Answer one turn fully: route, then a fixed answer, or grounded model text, or a template.

        Args:
            turn: the message, the action to convey and the conversation state.
            timeout_s: the generation deadline (default ``config.generate_timeout_s``).

        Returns:
            The reply (``source`` says which path produced it, ``fallback_reason`` why a template stood in)
            and the new conversation state.
        """
        vector = await self._embed_query(turn.message)
        intent = self.head.predict_one(vector) if self.head is not None and vector is not None else None
        plan = self._plan(turn, intent)
        if not plan.decision.uses_lm:
            return self._template(turn, plan, [], None)
        k, demote = self.config.top_k, plan.state.shown_ids
        if vector is not None and len(self.index):
            query = vector if plan.query == turn.message else await self._embed_query(plan.query)
            found = self.index.search(
                query if query is not None else vector, k, plan.constraints, demote, self.config.min_similarity
            )
        else:
            found = self.index.search_lexical(plan.query, k, plan.constraints, demote)
        hits = self._live(found, plan.constraints)
        if not hits and plan.conveyed is None:
            return self._template(turn, plan, hits, "lm_skipped")
        return await self._render(turn, plan, hits, timeout_s or self.config.generate_timeout_s)

    async def _render(self, turn: ChatTurn, plan: _Plan, hits: list[Hit], timeout_s: float) -> TurnResult:
        offer = plan.conveyed
        items = [h.item for h in hits]
        if offer is not None and offer.product is not None and offer.product_id not in {i.product_id for i in items}:
            items.insert(0, offer.product)
        prompt = build_prompt(turn.message, items, offer, self.config)
        try:
            raw = await asyncio.wait_for(
                self._generate(prompt.as_messages(), self.config.max_new_tokens, timeout_s), timeout_s
            )
        except TimeoutError:
            return self._template(turn, plan, hits, "lm_timeout")
        except (TransientError, OSError) as exc:
            logger.warning("concierge generate failed error=%s", type(exc).__name__)
            return self._template(turn, plan, hits, "lm_error")
        raw = prompt.reply(raw)
        amounts = [i.price for i in items] + list(plan.constraints.amounts()) + list(plan.turn_constraints.amounts())
        if offer is not None and offer.discounted_price is not None:
            amounts.append(offer.discounted_price)
        grounding = Grounding(
            catalogue_ids=self.catalogue,
            allowed_ids=frozenset(i.product_id for i in items),
            titles=tuple(i.title for i in items),
            allowed_amounts=tuple(amounts),
            grounded_text=" ".join([turn.message, *(item_text(i) for i in items)]),
            offer=offer,
        )
        check = check_lm_text(raw, grounding, self.config)
        if check.body is None:
            return self._template(turn, plan, hits, "lm_invalid", check.violations)
        mentions = find_mentions(check.body, self.catalogue, self._ids)
        broken = contract_violations(check.body, offer, mentions)
        if broken or not set(mentions.catalogue_ids) <= grounding.allowed_ids:
            return self._template(turn, plan, hits, "lm_invalid", (*check.violations, *broken))
        ids = [i.product_id for i in items]
        return self._finish(turn, plan, check.body, "lm", ids, violations=check.violations)
