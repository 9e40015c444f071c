"""answer_concierge: texts for concierge decisions, off the decision path, on the worker's event loop.

The decision step hands each ``concierge_message`` decision (with the shopper's chat text, when a chat message
triggered it) to :meth:`ConciergeAgent.submit` — thread-safe, never blocking: the hand-off goes through the event
loop's queue. On the loop, the agent publishes an immediate rule/template reply (1–3 ms, no model), then queues the
turn for the language model in a bounded :class:`~serving.concierge.ConciergeQueue` (newest rejected when full,
each job with a deadline); a model reply that passes validation is published as the final message. Both go to
``kairos.concierge.v1`` keyed like the decision. The catalogue the concierge grounds its answers in is synced from
the worker's global catalogue table (embeddings from the Triton text encoder) every ``sync_every_s``.

The intent/sentiment head that routes messages is the one Triton serves as ``kairos_intent`` (its ``head.pt``, read
back from the model repository), so the concierge and the feature stage read a message alike. Only when no head is
published does the agent train one at start on the served encoder's embeddings (the same seeded recipe).

Dialogue state is kept per session in memory (bounded, least recently used evicted); it is not checkpointed: a
restarted worker starts conversations afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from confluent_kafka import Producer

from schemas.codec import encode
from schemas.concierge import ConciergeMessage, concierge_message_id
from schemas.decisions import Decision
from schemas.errors import TransientError
from schemas.fields import CURRENT_SCHEMA_VERSION
from serving.concierge import (
    CatalogueIndex,
    ChatTurn,
    Concierge,
    ConciergeConfig,
    ConciergeQueue,
    DialogueState,
    HeadReport,
    IntentHead,
    TurnResult,
    evaluate_head,
    load_examples,
    split_examples,
    train_head,
)
from serving.concierge.intent import HOLDOUT, SPLIT_SEED
from serving.inference import InferenceUnavailableError, TextClient, UnavailableReason
from streams.catalogue import CatalogueTable
from streams.metrics import CONCIERGE_INTENT_ACCURACY, CONCIERGE_MESSAGES, CONCIERGE_QUEUE

__all__ = ["ConciergeAgent", "ConciergeOptions"]

logger = logging.getLogger(__name__)


def _not_configured() -> InferenceUnavailableError:
    return InferenceUnavailableError(UnavailableReason.UNAVAILABLE, "no Triton (serving.triton_url is empty)")


@dataclass(frozen=True, slots=True)
class ConciergeOptions:
    """Knobs of the concierge agent."""

    queue_size: int = 16
    generate_timeout_s: float = 20.0
    sync_every_s: float = 10.0
    max_sessions: int = 10_000


class ConciergeAgent:
    """Publishes concierge texts for concierge decisions (see the module docstring).

    Args:
        topic: the concierge topic.
        producer: the agent's producer (confluent-kafka; the caller flushes it on shutdown).
        catalogue: the worker's global catalogue table.
        client: the Triton text client (encoder + language model), or ``None``: template and rule replies only.
        options: knobs.
        served_head: returns the served ``kairos_intent`` head's TorchScript bytes, or ``None`` when none is
            published (the agent then trains a head at start).
        config: the concierge's rules (default: :class:`~serving.concierge.ConciergeConfig` with the opening line
            measured in docs/concierge.md).
    """

    def __init__(
        self,
        topic: str,
        producer: Producer,
        catalogue: CatalogueTable,
        *,
        client: TextClient | None = None,
        options: ConciergeOptions | None = None,
        served_head: Callable[[], bytes | None] | None = None,
        config: ConciergeConfig | None = None,
    ) -> None:
        self._topic = topic
        self._producer = producer
        self._catalogue = catalogue
        self._client = client
        self._options = options or ConciergeOptions()
        self._served_head = served_head
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: ConciergeQueue | None = None
        self._sessions: OrderedDict[str, DialogueState] = OrderedDict()
        self._decisions: dict[str, Decision] = {}
        self._synced: dict[str, object] = {}
        config = config or ConciergeConfig(reply_opening=True)  # measured: docs/concierge.md (bench concierge)
        self.concierge = Concierge(CatalogueIndex(), embed=self._embed, generate=self._generate, config=config)
        self.dropped = 0

    async def _embed(self, texts: Sequence[str], /) -> npt.NDArray[np.floating]:
        if self._client is None:  # the concierge answers with templates: unavailable, not a timeout
            raise _not_configured()
        return await self._client.embed(texts)

    async def _generate(self, messages: Sequence[Mapping[str, str]], max_new_tokens: int, timeout_s: float, /) -> str:
        if self._client is None:
            raise _not_configured()
        return await self._client.generate(messages, max_new_tokens, timeout_s)

    def submit(self, decision: Decision, message: str) -> None:
        """Hand a concierge decision over from any thread; dropped (and counted) before the agent has started."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.dropped += 1
            return
        loop.call_soon_threadsafe(self._accept, decision, message)

    def _accept(self, decision: Decision, message: str) -> None:
        """On the loop: publish the immediate reply, queue the model turn."""
        turn = ChatTurn(
            session_id=decision.session_id,
            message=message,
            action=decision.action,
            decision_id=decision.decision_id,
            state=self._sessions.get(decision.session_id),
        )
        now = self.concierge.answer_with_template(turn)
        queued = now.reply.source != "rules" and self._client is not None and self._queue is not None
        if queued and self._queue is not None:
            queued = self._queue.submit(turn, self._options.generate_timeout_s)
        self._remember(decision.session_id, now)
        self._publish(decision, now, final=not queued)
        if queued:
            self._decisions[decision.decision_id] = decision

    async def _follow_up(self, result: TurnResult) -> None:
        decision = self._decisions.pop(result.reply.decision_id or "", None)
        if decision is None:
            return
        self._remember(decision.session_id, result)
        self._publish(decision, result, final=True)

    def _remember(self, session_id: str, result: TurnResult) -> None:
        sessions = self._sessions
        sessions[session_id] = result.state
        sessions.move_to_end(session_id)
        while len(sessions) > self._options.max_sessions:
            sessions.popitem(last=False)

    def _publish(self, decision: Decision, result: TurnResult, *, final: bool) -> None:
        reply = result.reply
        message = ConciergeMessage(
            message_id=concierge_message_id(decision.decision_id, reply.source),
            decision_id=decision.decision_id,
            event_time=decision.event_time,
            schema_version=CURRENT_SCHEMA_VERSION,
            session_id=decision.session_id,
            user_id=decision.user_id,
            anonymous_id=decision.anonymous_id,
            text=reply.text[:2000],
            source=reply.source,
            final=final,
            disclosure=reply.disclosure,
            product_ids=list(reply.product_ids),
            discount_pct=reply.discount_pct,
            route=reply.route,
        )
        self._producer.produce(self._topic, encode(message), message.partition_key)
        self._producer.poll(0)
        CONCIERGE_MESSAGES.labels(reply.source, "final" if final else "interim").inc()

    async def _sync_catalogue(self) -> None:
        """Apply new or changed catalogue records; embed what changed (when an encoder is configured)."""
        changed = False
        for item in self._catalogue.items():
            if self._synced.get(item.product_id) is not item:
                self.concierge.apply_catalogue(item)
                self._synced[item.product_id] = item
                changed = True
        if changed and self._client is not None:
            try:
                await self.concierge.sync_index()
            except (
                TransientError,
                TimeoutError,
            ):  # the encoder being down must not stop the agent: lexical still works
                logger.warning("concierge index sync failed; retrieval stays lexical until the next sync")

    def flush(self, timeout_s: float = 10.0) -> None:
        """Deliver the messages still buffered (on shutdown)."""
        self._producer.flush(timeout_s)

    def served_intent_head(self) -> IntentHead | None:
        """The head ``kairos_intent`` serves, or ``None`` when none is published or it cannot be read."""
        if self._served_head is None:
            return None
        from serving.concierge.head_export import head_from_torchscript  # torch: only when a head is read

        try:
            data = self._served_head()
            return head_from_torchscript(data) if data is not None else None
        except (OSError, RuntimeError, ValueError) as exc:
            logger.warning("the served intent head cannot be read (%s); training one", exc)
            return None

    async def load_intent_head(self) -> HeadReport | None:
        """Use the served head (scored on the held-out messages when the encoder answers), else train one.

        Returns:
            The held-out report (also ``kairos_concierge_intent_accuracy``), or ``None`` when it cannot be measured.
        """
        head = self.served_intent_head()
        if head is None:
            return await self.train_intent_head()
        self.concierge.head = head
        logger.info("concierge intent head: the one kairos_intent serves")
        if self._client is None:
            return None
        _, held = split_examples(load_examples(), holdout=HOLDOUT, seed=SPLIT_SEED)
        try:
            vectors = await self._client.embed([e.text for e in held])
        except (TransientError, TimeoutError):
            return None
        report = evaluate_head(head, lambda texts: vectors, held)
        self._export_report(report)
        return report

    def _export_report(self, report: HeadReport) -> None:
        CONCIERGE_INTENT_ACCURACY.labels("intent").set(report.accuracy)
        CONCIERGE_INTENT_ACCURACY.labels("sentiment").set(report.sentiment_accuracy)
        logger.info(
            "concierge intent head: held-out accuracy %.3f (chance %.3f), sentiment %.3f, n=%d",
            report.accuracy,
            report.chance,
            report.sentiment_accuracy,
            report.n,
        )

    async def train_intent_head(self) -> HeadReport | None:
        """Fallback when no head is served: fit the head on the served encoder's embeddings of the labelled messages.

        Returns the held-out report (also exported as ``kairos_concierge_intent_accuracy``), or ``None`` when no
        encoder answers (the concierge then routes by rules and retrieval only).
        """
        if self._client is None:
            return None
        train, held = split_examples(load_examples(), holdout=HOLDOUT, seed=SPLIT_SEED)
        try:
            vectors = await self._client.embed([e.text for e in (*train, *held)])
        except (TransientError, TimeoutError):
            logger.warning("no text encoder: the concierge runs without an intent head")
            return None
        known = dict(zip((e.text for e in (*train, *held)), vectors, strict=True))

        def embed(texts: Sequence[str], /) -> npt.NDArray[np.floating]:
            return np.stack([known[t] for t in texts])

        head = train_head(train, embed)
        report = evaluate_head(head, embed, held)
        self.concierge.head = head
        self._export_report(report)
        return report

    async def run(self, stopped: Callable[[], bool]) -> None:
        """The agent's loop: sync the catalogue periodically and answer queued turns, until ``stopped()``."""
        self._loop = asyncio.get_running_loop()
        self._queue = ConciergeQueue(self._options.queue_size)
        await self.load_intent_head()
        worker = asyncio.ensure_future(self._queue.run(self.concierge, self._follow_up))
        try:
            exported: dict[str, int] = {}
            while not stopped():
                await self._sync_catalogue()
                for outcome, count in self._queue.stats.items():
                    CONCIERGE_QUEUE.labels(outcome).inc(count - exported.get(outcome, 0))
                    exported[outcome] = count
                await asyncio.sleep(self._options.sync_every_s)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            self._loop = None
