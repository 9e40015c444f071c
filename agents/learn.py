"""learn: rewards and decision contexts in, a candidate policy learned online, promoted versions hot-swapped out.

:class:`LearnStage` (one per deployment) reads every partition of ``kairos.decision_contexts.v1`` and
``kairos.rewards.v1`` (one component: the ``early`` reward by default, 3 h after a decision, not the ``composite``
that closes after the 7-day retention window) and feeds the pure :class:`~serving.learning.OnlineLearner`; the
contexts wait for their rewards in its context store (a SQLite file in production), committed with the contexts'
offsets after every batch. When the gate promotes the candidate, the stage checkpoints the version
(``<data_dir>/policies/<model_version>/``), publishes it to Triton (:class:`TritonPublisher`: TorchScript, then
:func:`~serving.inference.swap_policy`; the old version serves until the new one is ready) and announces a
:class:`~schemas.contexts.PolicyRelease` on the compacted ``kairos.policy.v1``. On a restart it resumes from its
newest checkpoint: the weights and the rewards' positions; the contexts from the store's committed positions (from
the beginning with a memory store); contexts whose rewards it already read expire unjoined.

:class:`ReleaseFollower` (every worker) follows ``kairos.policy.v1`` from the beginning into a :class:`ReleaseBoard`,
which hands each newer release to its subscribers (the decision stage's ``offer_release``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import Consumer, Message, Producer

from agents.dead_letter import send_dead_letter
from schemas.codec import StructDecoder, encode
from schemas.contexts import DecisionContext, PolicyRelease
from schemas.errors import PoisonMessageError
from schemas.fields import CURRENT_SCHEMA_VERSION
from schemas.rewards import Reward, RewardComponent
from serving.inference import ModelControl, ModelLoadError, model_versions, swap_policy
from serving.inference.config import POLICY_MODEL
from serving.learning import (
    OnlineLearner,
    Proposal,
    is_holdout,
    latest_checkpoint,
    policy_weights,
    restore_weights,
    save_checkpoint,
)
from serving.policy import Policy, export_torchscript
from streams.clients import consumer_config, producer_config
from streams.config import KafkaConfig, TopicsConfig
from streams.follow import PartitionEnds, assign_all
from streams.metrics import LEARN_PROPOSALS, LEARN_ROUNDS, POLICY_MODEL_VERSION

__all__ = ["LearnStage", "PolicyPublisher", "ReleaseBoard", "ReleaseFollower", "TritonPublisher"]

logger = logging.getLogger(__name__)

STAGE = "learn"
_RELEASE_MAX_BYTES = 8 * 1024 * 1024
_CONTEXT_MAX_BYTES = 1024 * 1024

P = TypeVar("P", bound=Policy)


class PolicyPublisher(Protocol):
    """Makes the serving side serve a promoted policy as ``model_version`` (Triton, or a fake in tests)."""

    def publish(self, model_version: int, policy: object) -> int:
        """Serve ``policy``; returns the version actually used (above every published one).

        Raises:
            ModelLoadError: the server refused it (the previous version keeps serving).
        """
        ...


class TritonPublisher:
    """Exports the policy to TorchScript and hot-swaps it into Triton's ``kairos_policy``.

    Args:
        control_url: Triton's gRPC ``host:port``.
        repository: the model repository the server loads from (this process must be able to write it).
        shapes: ``(S, K, A)`` to warm up and check the new version while it loads.
        timeout_s: how long a load may take.
    """

    def __init__(
        self, control_url: str, repository: Path, shapes: tuple[int, int, int], *, timeout_s: float = 120.0
    ) -> None:
        self._control = ModelControl(control_url)
        self._repository = repository
        self._shapes = shapes
        self._timeout_s = timeout_s

    def publish(self, model_version: int, policy: object) -> int:
        """Swap ``policy`` in as ``model_version``, or above the newest version on disk if that is higher."""
        published = model_versions(self._repository, POLICY_MODEL)
        version = max(model_version, published[-1] + 1 if published else 1)
        data = export_torchscript(policy)
        coro = swap_policy(
            self._control, self._repository, version, data, shapes=self._shapes, timeout_s=self._timeout_s
        )
        self._control.connection.run_sync(coro, self._timeout_s)
        return version

    def close(self) -> None:
        """Close the control connection."""
        self._control.connection.close()


class ReleaseBoard:
    """The newest release per policy name, handed to subscribers (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, PolicyRelease] = {}
        self._subscribers: list[Callable[[PolicyRelease], None]] = []

    def subscribe(self, callback: Callable[[PolicyRelease], None]) -> None:
        """Call ``callback`` with every newer release from now on (and the newest ones already seen)."""
        with self._lock:
            self._subscribers.append(callback)
            known = list(self._latest.values())
        for release in known:
            callback(release)

    def publish(self, release: PolicyRelease) -> bool:
        """Keep ``release`` if it is newer than the one known for its policy; returns whether it was."""
        with self._lock:
            known = self._latest.get(release.policy_name)
            if known is not None and known.model_version >= release.model_version:
                return False
            self._latest[release.policy_name] = release
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(release)
        return True

    def latest(self, policy_name: str) -> PolicyRelease | None:
        """The newest release of ``policy_name`` seen."""
        with self._lock:
            return self._latest.get(policy_name)


class ReleaseFollower:
    """Follows every partition of the releases topic from the beginning into a :class:`ReleaseBoard`."""

    def __init__(self, kafka: KafkaConfig, topic: str, board: ReleaseBoard, *, poll_timeout_s: float = 1.0) -> None:
        self._kafka = kafka
        self._topic = topic
        self._board = board
        self._poll_timeout_s = poll_timeout_s
        self._decode = StructDecoder(PolicyRelease, max_bytes=_RELEASE_MAX_BYTES).decode
        self.caught_up = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop``; ``caught_up`` is set once every partition reached its end."""
        consumer = Consumer(consumer_config(self._kafka, None, **{"enable.partition.eof": True}))
        try:
            ends = PartitionEnds(assign_all(consumer, [self._topic]))
            while not stop.is_set():
                for msg in ends.records(consumer.consume(100, self._poll_timeout_s)):
                    if msg.error() is None:
                        self._apply(msg)
                if ends.caught_up and not self.caught_up.is_set():
                    self.caught_up.set()
        finally:
            consumer.close()

    def _apply(self, msg: Message) -> None:
        try:
            release = self._decode(msg.value() or b"")
        except PoisonMessageError as exc:
            logger.warning("bad policy release partition=%s offset=%s: %s", msg.partition(), msg.offset(), exc)
            return
        if self._board.publish(release):
            logger.info("policy release %s model_version=%s", release.policy_version, release.model_version)


class LearnStage(Generic[P]):
    """The learner agent (see the module docstring); ``run(stop)`` like a batch loop.

    Args:
        kafka: broker connection.
        topics: the deployment's topics.
        learner: the core, holding the serving policy as its incumbent.
        publisher: serves promoted versions (``None``: checkpoint only; nothing is announced).
        checkpoints: the versions' folder.
        poll_timeout_s: how long one poll waits.
        clock: wall seconds, for dead letters and the proposal clock when no record came.
        reward: the reward component learned from (``early``: hours after a decision; ``composite``: after the
            longest window).
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: TopicsConfig,
        learner: OnlineLearner[P],
        *,
        publisher: PolicyPublisher | None,
        checkpoints: Path,
        poll_timeout_s: float = 0.2,
        clock: Callable[[], float] = time.time,
        reward: RewardComponent = RewardComponent.EARLY,
    ) -> None:
        self._kafka = kafka
        self._reward = reward
        self._topics = topics
        self.learner = learner
        self._publisher = publisher
        self._checkpoints = checkpoints
        self._poll_timeout_s = poll_timeout_s
        self._clock = clock
        self._producer = Producer(producer_config(kafka))
        self._contexts = StructDecoder(DecisionContext, max_bytes=_CONTEXT_MAX_BYTES).decode
        self._rewards = StructDecoder(Reward).decode
        self._positions: dict[tuple[str, int], int] = {}
        self.proposals: list[Proposal] = []
        self.promoted = threading.Event()
        self._restore()

    def _restore(self) -> None:
        checkpoint = latest_checkpoint(self._checkpoints)
        if checkpoint is None:
            return
        learner = self.learner
        for policy in (learner.incumbent, learner.candidate):
            restore_weights(policy, checkpoint.weights, int(checkpoint.meta.get("updates", 0)))
        learner.model_version = checkpoint.model_version
        positions = checkpoint.meta.get("positions", {})  # the rewards' next offsets
        self._positions = {(t, int(p)): int(o) for t, parts in positions.items() for p, o in parts.items()}
        logger.info("learner resumed model_version=%s from %s", checkpoint.model_version, checkpoint.folder)

    def run(self, stop: threading.Event) -> None:
        """Consume, learn, propose and publish until ``stop``."""
        consumer = Consumer(consumer_config(self._kafka, None))
        try:
            self._assign(consumer)
            if self.learner.model_version > 1 and self._publisher is not None:
                self._announce(self.learner.model_version, "resumed")  # idempotent on the compacted topic
            while not stop.is_set():
                batch = consumer.consume(5000, self._poll_timeout_s)
                for msg in batch:
                    if msg.error() is None:
                        self._apply(msg)
                if batch:
                    self._commit_contexts()
                self._propose()
        finally:
            consumer.close()
            self._producer.flush(10.0)
            self.learner.join.contexts.close()

    def learn_batch(self, messages: Iterable[Message]) -> None:
        """Learn from ``messages`` (contexts and rewards, as :meth:`run` consumes them), then run the gate once: how
        a replay drives the learner, in its own deterministic order."""
        for msg in messages:
            if msg.error() is None:
                self._apply(msg)
        self._commit_contexts()
        self._propose()

    def _commit_contexts(self) -> None:
        topic = self._topics.decision_contexts
        read = {key: offset for key, offset in self._positions.items() if key[0] == topic}
        self.learner.join.contexts.commit(read)

    def _assign(self, consumer: Consumer) -> None:
        """Contexts from the store's committed positions (the beginning for a memory store); rewards from the
        checkpoint's positions (contexts joined before the checkpoint expire unjoined: their rewards are not read
        again)."""
        rewards = {key: offset for key, offset in self._positions.items() if key[0] == self._topics.rewards}
        starts = {**self.learner.join.contexts.positions(), **rewards}
        assign_all(consumer, [self._topics.decision_contexts, self._topics.rewards], starts=starts)

    def _apply(self, msg: Message) -> None:
        topic = msg.topic() or ""
        self._positions[(topic, msg.partition() or 0)] = (msg.offset() or 0) + 1
        try:
            if topic == self._topics.decision_contexts:
                joined = self.learner.observe_context(self._contexts(msg.value() or b""))
            else:
                reward = self._rewards(msg.value() or b"")
                if not reward.final or reward.component is not self._reward:
                    return
                joined = self.learner.observe_reward(reward.decision_id, reward.value, reward.event_time.timestamp())
        except PoisonMessageError as exc:
            send_dead_letter(
                self._producer, msg, exc, stage=STAGE, topic=self._topics.dead_letters, now_s=self._clock()
            )
            return
        if joined is not None:
            held = is_holdout(joined.context.decision_id, self.learner.config.holdout)
            LEARN_ROUNDS.labels("held_out" if held else "learned").inc()

    def _propose(self) -> None:
        learner = self.learner
        serving, serving_version = learner.incumbent, learner.model_version
        watermark, resets = learner.join.watermark_s, learner.resets
        proposal = learner.propose(watermark if watermark > float("-inf") else self._clock())
        if learner.resets > resets:
            logger.warning("candidate diverged (non-finite scores); restarted from %s", learner.incumbent.version)
        if proposal is None:
            return
        if not self._conclude(proposal):  # promoted but not served: the serving version stays the incumbent
            learner.incumbent, learner.model_version = serving, serving_version

    def _conclude(self, proposal: Proposal) -> bool:
        """Log the verdict; on promotion serve, checkpoint and announce the version. False if it could not serve."""
        self.proposals.append(proposal)
        LEARN_PROPOSALS.labels("promoted" if proposal.promoted else "kept").inc()
        logger.info("policy gate %s: %s", proposal.candidate_version, proposal.reason)
        if not proposal.promoted:
            return True
        learner = self.learner
        version = proposal.model_version
        if self._publisher is not None:
            try:
                version = self._publisher.publish(version, learner.incumbent)
            except ModelLoadError as exc:
                logger.warning("promoted %s not served: %s", proposal.candidate_version, exc)
                return False
        learner.model_version = version
        self._checkpoint(version, proposal)
        if self._publisher is not None:  # workers pin Triton to an announced version: only announce what serves
            self._announce(version, proposal.reason)
        POLICY_MODEL_VERSION.labels("learn").set(version)
        self.promoted.set()
        return True

    def _checkpoint(self, version: int, proposal: Proposal) -> None:
        incumbent = self.learner.incumbent
        positions: dict[str, dict[str, int]] = {}
        for (topic, partition), offset in self._positions.items():
            if topic == self._topics.rewards:
                positions.setdefault(topic, {})[str(partition)] = offset
        meta: dict[str, Any] = {
            "policy_name": incumbent.name,
            "policy_version": incumbent.version,
            "updates": _updates(incumbent),
            "gate": proposal.reason,
            "rounds": proposal.rounds,
            "positions": positions,
        }
        save_checkpoint(self._checkpoints, version, policy_weights(incumbent), meta)

    def _announce(self, version: int, gate: str) -> None:
        incumbent = self.learner.incumbent
        release = PolicyRelease(
            policy_name=incumbent.name,
            policy_version=incumbent.version,
            model_version=version,
            updates=_updates(incumbent),
            weights=policy_weights(incumbent),
            event_time=datetime.now(UTC),
            schema_version=CURRENT_SCHEMA_VERSION,
            gate=gate[:256],
        )
        self._producer.produce(self._topics.policy_releases, encode(release), incumbent.name.encode())
        self._producer.flush(10.0)


def _updates(policy: object) -> int:
    for counter in ("updates", "steps"):
        value = getattr(policy, counter, None)
        if isinstance(value, int):
            return value
    return 0
