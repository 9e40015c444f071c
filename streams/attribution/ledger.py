"""What a restarted attribution stage finds already published, so that it publishes nothing twice.

After a restart from a checkpoint the attributor re-emits what it emitted after that checkpoint. The agent reads
its output partitions from where they ended at the checkpoint and notes every reward (by decision and component)
and every dead letter of its own (by source record and reason) here; an output found here is *claimed* (not
published again) exactly once, then forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PublishedLedger"]


class PublishedLedger:
    """Outputs already on the rewards and dead-letter topics that the state has not emitted yet.

    >>> ledger = PublishedLedger()
    >>> ledger.saw_reward("d-1", "conversion", 100)
    >>> ledger.fresh_reward("d-1", "conversion"), ledger.fresh_reward("d-1", "conversion")
    (False, True)
    >>> ledger.saw_rejection("kairos.events.v1", 7, "unattributed")
    >>> ledger.fresh_rejection("kairos.events.v1", 7, "unattributed"), len(ledger)
    (False, 0)
    """

    __slots__ = ("_rejections", "_rewards")

    def __init__(self) -> None:
        self._rewards: dict[tuple[str, str], int] = {}  # (decision id, component) -> reward event time (us)
        self._rejections: set[tuple[str, int, str]] = set()  # (source topic, source offset, reason)

    def __len__(self) -> int:
        return len(self._rewards) + len(self._rejections)

    def saw_reward(self, decision_id: str, component: str, time_us: int) -> None:
        """A reward for ``decision_id``'s ``component`` (event time ``time_us``) is on the rewards topic."""
        self._rewards[(decision_id, component)] = time_us

    def saw_rejection(self, topic: str, offset: int, reason: str) -> None:
        """A dead letter of this stage for ``topic@offset`` with ``reason`` is on the dead-letter topic."""
        self._rejections.add((topic, offset, reason))

    def fresh_reward(self, decision_id: str, component: str) -> bool:
        """Whether to publish this reward: false (once) when it is already on the topic."""
        return self._rewards.pop((decision_id, component), None) is None

    def fresh_rejection(self, topic: str, offset: int, reason: str) -> bool:
        """Whether to publish this dead letter: false (once) when it is already on the topic."""
        key = (topic, offset, reason)
        if key in self._rejections:
            self._rejections.discard(key)
            return False
        return True

    def forget(self, rewards_before_us: int, offsets_below: Mapping[str, int]) -> None:
        """Drop what the state can no longer emit.

        Args:
            rewards_before_us: rewards whose event time is before this (their windows closed behind the horizon
                long enough ago that the state would have emitted them already).
            offsets_below: per source topic, dead letters for records below this offset (records the state has
                consumed and will not report again).

        >>> ledger = PublishedLedger()
        >>> ledger.saw_reward("d-1", "penalty", 100); ledger.saw_rejection("t", 3, "late_event")
        >>> ledger.forget(101, {"t": 3}); len(ledger)
        1
        >>> ledger.forget(101, {"t": 4}); len(ledger)
        0
        """
        self._rewards = {key: t for key, t in self._rewards.items() if t >= rewards_before_us}
        self._rejections = {r for r in self._rejections if r[1] >= offsets_below.get(r[0], 0)}
