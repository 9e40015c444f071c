"""The attributor of one partition: decisions and events in, final rewards out, driven by an event-time watermark.

Pure and synchronous: time is the records' event time (and an optional watermark the caller passes), no clock, no
I/O; the state is picklable (a checkpoint is ``pickle.dumps(attributor)``). An outcome at ``t`` is credited once
``t`` plus its component's backward window is behind the horizon (watermark minus the allowed lateness), when every
decision and impression that could claim it has arrived; a component is emitted, once and final, when its window
end plus the backward window is behind the horizon. Rules, windows, defaults and why: ``docs/attribution.md``.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from schemas.decisions import Decision
from schemas.events import EVENT_CLASSES, Event, InterventionClick, InterventionDismiss
from schemas.rewards import RewardComponent
from streams.attribution.config import COMPONENTS, AttributionConfig
from streams.attribution.credit import credit
from streams.attribution.emit import Outbox, from_micros
from streams.attribution.feedback import Orphans
from streams.attribution.outcomes import FEEDBACK_CLASSES, OUTCOME_CLASSES, Outcome, OutcomeKind, outcomes_of, visit
from streams.attribution.results import (
    AttributionStats,
    Emission,
    Intake,
    Unattributed,
    UnattributedReason,
)
from streams.attribution.store import DecisionInfo, PendingDecision, PendingStore, micros
from streams.attribution.visits import SessionStarts
from streams.dedup import DedupWindow
from streams.features.text import LexiconTextSignals, TextSignals
from streams.features.windows import MICROS_PER_SECOND, to_micros

__all__ = ["Attributor"]

_NEVER = -(1 << 57)  # before any event time (about year -2600 in microseconds)
_END = 1 << 57  # after any event time (about year 6500), still a valid datetime
_SWEEP_US = 60 * MICROS_PER_SECOND
_ACTIVATION, _CLOSE = 0, 1


class Attributor:
    """Delayed-reward attribution for one user partition (decisions and events co-partitioned by user).

    Args:
        config: the rules (defaults documented on :class:`AttributionConfig`).
        signals: chat sentiment for the satisfaction proxy (the feature stage's lexicon by default).

    >>> attributor = Attributor()
    >>> attributor.advance().rewards
    ()
    """

    def __init__(self, config: AttributionConfig | None = None, *, signals: TextSignals | None = None) -> None:
        self.config = config if config is not None else AttributionConfig()
        self.stats = AttributionStats()
        self._signals = signals if signals is not None else LexiconTextSignals()
        self._store = PendingStore()
        self._watermark = _NEVER
        self._swept = _NEVER
        self._schedule: list[tuple[int, str, int, int]] = []  # (due, decision id, kind, component index)
        self._buffer: list[tuple[int, int, str, RewardComponent]] = []  # (ready, time, event id, component)
        self._waiting: dict[tuple[str, RewardComponent], tuple[Outcome, Event]] = {}
        self._sessions = SessionStarts()
        self._seen = DedupWindow(self.config.dedup_capacity, self.config.dedup_window_s)
        self._outbox = Outbox(self.config)
        c = self.config
        self._lateness_us = micros(c.allowed_lateness_s)
        self._max_backward_us = micros(c.max_backward_s)
        self._stale_us = micros(c.longest_window_s) + self._max_backward_us
        self._half_life_us = micros(c.half_life_s)
        self._quick_exit_us = micros(c.quick_exit_s)
        self._orphans = Orphans(self._max_backward_us)
        self._backward_us = {component: micros(c.rule(component).backward_s) for component in COMPONENTS}
        self._credit = {component: c.credit_for(component) for component in COMPONENTS}
        self._visit_classes = frozenset(EVENT_CLASSES[name] for name in c.visit_event_types if name in EVENT_CLASSES)

    def __len__(self) -> int:
        """Pending decisions held."""
        return len(self._store)

    @property
    def watermark(self) -> datetime | None:
        """The largest event time seen (or passed to :meth:`advance`), ``None`` before the first record."""
        return None if self._watermark == _NEVER else from_micros(min(self._watermark, _END))

    def pending(self, decision_id: str) -> PendingDecision | None:
        """The pending decision with this id (for inspection), or ``None``."""
        return self._store.get(decision_id)

    # -- intake -------------------------------------------------------------------------------------------------

    def add_decision(self, decision: Decision) -> Intake:
        """Hold a decision from ``kairos.interventions.v1`` until its windows close.

        Returns:
            :attr:`Intake.ACCEPTED`; :attr:`Intake.DUPLICATE` for a copy (pending or recently closed);
            :attr:`Intake.LATE` when its last window had already closed (nothing could still be attributed).
        """
        info = DecisionInfo.of(decision)
        self._observe(info.time_us)
        store, horizon = self._store, self._horizon
        if store.get(info.decision_id) is not None or store.closed(info.decision_id) is not None:
            self.stats.duplicate_decisions += 1
            return Intake.DUPLICATE
        pending = PendingDecision.open(info, self.config)
        if pending.last_close_us < horizon:
            self.stats.stale_decisions += 1
            return Intake.LATE
        if info.time_us < horizon:
            self.stats.late_decisions += 1
        store.add(pending)
        self.stats.decisions += 1
        if pending.activated_us is not None:
            self.stats.impressions += 1
        deadline = pending.activation_deadline_us
        heapq.heappush(self._schedule, (deadline, info.decision_id, _ACTIVATION, -1))
        for index, component in enumerate(COMPONENTS):
            due = max(pending.closes[component], deadline)
            heapq.heappush(self._schedule, (due, info.decision_id, _CLOSE, index))
        for time_us, _, event in self._orphans.take(info.decision_id):
            if self._matches(pending, time_us):
                self._activate(pending, time_us, event)
            else:
                self._orphans.add(info.decision_id, time_us, event)  # it expires and is reported
        self._enforce_bounds(info.user_key)
        return Intake.ACCEPTED

    def add_event(self, event: Event) -> Intake:
        """Take one validated event from ``kairos.events.v1``: impressions, outcomes, return visits.

        Returns:
            :attr:`Intake.ACCEPTED` when it was held or credited; :attr:`Intake.DUPLICATE` for a copy of an
            outcome; :attr:`Intake.LATE` when it arrived after every window it could count in was emitted (the
            caller dead-letters it); :attr:`Intake.IGNORED` otherwise.
        """
        time_us = to_micros(event.event_time)
        self._observe(time_us)
        seen_visit = Intake.IGNORED
        kind = type(event)
        if kind in self._visit_classes:
            seen_visit = self._see_session(event, time_us)
        if kind not in OUTCOME_CLASSES:
            return seen_visit
        outcomes = outcomes_of(event, self.config, self._signals)
        if not outcomes and kind not in FEEDBACK_CLASSES:
            return seen_visit
        if not self._seen.add(event.event_id, time_us / MICROS_PER_SECOND):
            self.stats.duplicate_events += 1
            return Intake.DUPLICATE
        verdict = Intake.IGNORED
        if isinstance(event, FEEDBACK_CLASSES):
            verdict = self._feedback(event, event.decision_id, time_us)
        if outcomes:  # a dismissal's verdict is its penalty's: the activation alone earns nothing
            verdict = _combine([self._take(outcome, event) for outcome in outcomes])
        if verdict is Intake.LATE:
            self.stats.late += 1
        return verdict

    def _feedback(self, event: Event, decision_id: str, time_us: int) -> Intake:
        """Impressions, clicks and dismissals activate their pending decision when :meth:`_matches` holds.

        Anything else waits as an *orphan* for its decision to arrive, and is reported as unattributed
        (``unknown_decision``) once ``time + max backward`` is behind the horizon: whether a decision it cannot
        match is still held, closed or forgotten depends on arrival order, so all three are treated alike.
        """
        pending = self._store.get(decision_id)
        if pending is not None and self._matches(pending, time_us):
            self._activate(pending, time_us, event)
            return Intake.ACCEPTED
        if time_us + self._max_backward_us < self._horizon:
            return Intake.LATE
        self._orphans.add(decision_id, time_us, event)
        return Intake.ACCEPTED

    def _matches(self, pending: PendingDecision, time_us: int) -> bool:
        """Feedback at ``time_us`` can activate ``pending``: from its time (minus the largest backward window,
        for clock skew) to its activation deadline."""
        return pending.info.time_us - self._max_backward_us <= time_us <= pending.activation_deadline_us

    def _activate(self, pending: PendingDecision, time_us: int, event: Event) -> None:
        if pending.activated_us is None:
            self.stats.impressions += 1
            pending.activated_us = time_us
        else:
            pending.activated_us = min(pending.activated_us, time_us)
        if isinstance(event, InterventionClick):  # an accepted offer: what an e-mail capture's sign-up needs
            clicked = pending.clicked_us
            pending.clicked_us = time_us if clicked is None else min(clicked, time_us)

    def _see_session(self, event: Event, time_us: int) -> Intake:
        starts, superseded = self._sessions.see((event.partition_key, event.session_id), time_us, event.event_id)
        if not starts:
            return Intake.IGNORED
        if superseded is not None:
            self._waiting.pop((superseded, RewardComponent.RETENTION), None)
        self._buffer_outcome(visit(event), event)
        return Intake.ACCEPTED

    def _take(self, outcome: Outcome, event: Event) -> Intake:
        if outcome.time_us + self._backward_us[outcome.component] >= self._horizon:
            self._buffer_outcome(outcome, event)
            return Intake.ACCEPTED
        return self._resolve(outcome, event, on_arrival=True)

    def _buffer_outcome(self, outcome: Outcome, event: Event) -> None:
        component = outcome.component
        ready = outcome.time_us + self._backward_us[outcome.component]
        self._waiting[(outcome.event_id, component)] = (outcome, event)
        heapq.heappush(self._buffer, (ready, outcome.time_us, outcome.event_id, component))

    # -- credit -------------------------------------------------------------------------------------------------

    def _resolve(self, outcome: Outcome, event: Event, *, on_arrival: bool) -> Intake:
        """Credit one outcome to the decisions held now; report it when it names a decision and earns nothing."""
        component = outcome.component
        credits = credit(
            outcome,
            self._store.candidates(outcome.user_key, outcome.session_id),
            self._credit[component],
            half_life_us=self._half_life_us,
            quick_exit_us=self._quick_exit_us,
            honour_tokens=self.config.honour_tokens,
            value_claim=self.config.value_claim,
        )
        applied = missed = False
        for pending, share, raw in credits:
            if not pending.is_open(component):
                missed = True
                continue
            tally = pending.tally(component, outcome.tier, self.config)
            dropped = tally.dropped
            tally.add(outcome.event_id, outcome.time_us, share * raw)
            self.stats.dropped_outcomes += tally.dropped - dropped
            applied = True
        if applied:
            self.stats.outcomes += 1
            if on_arrival:
                self.stats.late_credited += 1
            return Intake.ACCEPTED
        reported = outcome.token is not None or self.config.report_organic
        if missed or (on_arrival and outcome.primary and reported):
            return Intake.LATE
        if not outcome.primary:  # a purchase's value (its conversion speaks for it) or a return visit
            return Intake.IGNORED
        if outcome.token is not None:
            reason = self._reason(outcome.token, outcome.time_us + self._max_backward_us)
        elif self.config.report_organic:
            reason = UnattributedReason.NO_DECISION
        else:
            self.stats.organic += 1
            return Intake.IGNORED
        self.stats.unattributed += 1
        self._outbox.unattributed.append(Unattributed(event, outcome.token, reason))
        return Intake.ACCEPTED

    def _reason(self, decision_id: str, latest_us: int) -> UnattributedReason:
        """Why the named decision earned nothing; decisions later than ``latest_us`` may not have arrived yet
        (a reason must not depend on arrival order), so they count as unknown."""
        pending = self._store.get(decision_id)
        found = (pending.info.time_us, pending.activated_us is not None) if pending else self._store.closed(decision_id)
        if found is None or found[0] > latest_us:
            return UnattributedReason.UNKNOWN_DECISION
        return UnattributedReason.OUTSIDE_WINDOW if found[1] else UnattributedReason.NOT_SHOWN

    # -- watermark ----------------------------------------------------------------------------------------------

    def advance(self, watermark: datetime | None = None) -> Emission:
        """Resolve due outcomes, emit matured components and report unattributed outcomes.

        Args:
            watermark: an event time the caller knows the partition has reached (e.g. when idle); the
                watermark never moves back.

        Returns:
            The rewards, unattributed outcomes and settled decisions released since the last call, including
            those of decisions closed early by :meth:`add_decision` to respect the store's bounds.
        """
        if watermark is not None:
            self._observe(to_micros(watermark))
        self._release()
        return self._drain_outbox()

    def drain(self) -> Emission:
        """Close everything as if the watermark were at the end of time (end of a bounded replay or a test).

        Every later record is late. Not for a live partition: it emits windows that have not closed yet.
        """
        self._watermark = _END + self._lateness_us
        self._release()
        return self._drain_outbox()

    @property
    def _horizon(self) -> int:
        return self._watermark - self._lateness_us

    def _observe(self, time_us: int) -> None:
        self._watermark = max(self._watermark, time_us)

    def _release(self) -> None:
        """Process everything due before the horizon in event-time order, so the result does not depend on how
        often the caller advances: an outcome due at ``r`` sees exactly the closes due before ``r`` (at a tie,
        the outcome first, so a window's last outcome is in it)."""
        horizon = self._horizon
        self._expire_orphans(horizon)
        buffer, schedule = self._buffer, self._schedule
        while True:
            ready = buffer[0][0] if buffer else _END
            due = schedule[0][0] if schedule else _END
            if min(ready, due) >= horizon:
                break
            self._store.forget_closed(min(ready, due) - self._stale_us)
            if ready <= due:
                self._resolve_due()
            else:
                self._close_due()
        if horizon - self._swept >= _SWEEP_US:
            self._sweep(horizon)

    def _resolve_due(self) -> None:
        _, _, event_id, component = heapq.heappop(self._buffer)
        item = self._waiting.pop((event_id, component), None)
        if item is None:
            return  # a return visit superseded by an earlier event of its session
        outcome, event = item
        if outcome.kind is OutcomeKind.VISIT:
            self._sessions.resolve((outcome.user_key, outcome.session_id))
        self._resolve(outcome, event, on_arrival=False)

    def _close_due(self) -> None:
        _, decision_id, kind, index = heapq.heappop(self._schedule)
        pending = self._store.get(decision_id)
        if pending is None:
            return
        if kind == _ACTIVATION:
            if pending.activated_us is None:
                self._close_not_shown(pending, evicted=False)
        elif pending.is_open(component := COMPONENTS[index]):
            self._outbox.component(pending, component)
            if pending.early_due:
                self._outbox.early(pending)
            if len(pending.emitted) == len(COMPONENTS):
                self._settle(pending, evicted=False)

    def _expire_orphans(self, horizon: int) -> None:
        for decision_id, event in self._orphans.expire(horizon):
            if not isinstance(event, InterventionDismiss):  # a dismissal is reported by its penalty outcome
                self.stats.unattributed += 1
                reason = UnattributedReason.UNKNOWN_DECISION  # a held decision would have claimed it
                self._outbox.unattributed.append(Unattributed(event, decision_id, reason))

    def _sweep(self, horizon: int) -> None:
        self._swept = horizon
        self._store.forget_closed(horizon - self._stale_us)
        self._sessions.forget(horizon - micros(self.config.session_memory_s))

    # -- emission -----------------------------------------------------------------------------------------------

    def _settle(self, pending: PendingDecision, *, evicted: bool) -> None:
        self._outbox.composite(pending, evicted=evicted)
        self._store.remove(pending.info.decision_id)

    def _close_not_shown(self, pending: PendingDecision, *, evicted: bool) -> None:
        self._outbox.not_shown(pending, evicted=evicted)
        self._store.remove(pending.info.decision_id)
        self.stats.not_shown += 1

    def _evict(self, decision_id: str) -> None:
        pending = self._store.get(decision_id)
        if pending is None:
            return
        self.stats.evicted += 1
        if pending.activated_us is None:
            self._close_not_shown(pending, evicted=True)
            return
        for component in COMPONENTS:
            if pending.is_open(component):
                self._outbox.component(pending, component)
        if pending.early_due:
            self._outbox.early(pending)
        self._settle(pending, evicted=True)

    def _enforce_bounds(self, user_key: str) -> None:
        store, config = self._store, self.config
        while len(store.user_ids(user_key)) > config.max_pending_per_user:
            self._evict(store.oldest_of(user_key))
        while len(store) > config.max_pending:
            oldest_id = store.oldest()
            if oldest_id is None:
                break
            self._evict(oldest_id)

    def _drain_outbox(self) -> Emission:
        emission = self._outbox.take()
        self.stats.rewards += len(emission.rewards)
        return emission


def _combine(verdicts: list[Intake]) -> Intake:
    """One verdict for an event from its parts: accepted beats late beats ignored."""
    for verdict in (Intake.ACCEPTED, Intake.LATE):
        if verdict in verdicts:
            return verdict
    return Intake.IGNORED
