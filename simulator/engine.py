"""The discrete-event simulation: many shoppers' sessions on one heap, interventions in, labelled records out.

Sim time is float seconds since ``start_time``. Each session draws from its own generators, seeded from the
run seed and the session id, so an intervention changes only the session it is shown in, and the same seed
with the same interventions (at the same sim times) yields byte-identical records.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from schemas.decisions import Decision
from simulator.activity import Activity, Intervention, as_float
from simulator.catalogue import Catalogue
from simulator.config import DEFAULT_START_TIME, SimulationConfig
from simulator.drift import DriftRecord, draw_drift, reprice, shift_preferences
from simulator.errors import BadDecisionError
from simulator.faults import FUTURE_SKEW_S, corrupt, pick_reason
from simulator.oracle import best_action, oracle_breakdown, oracle_values, regret
from simulator.records import SimRecord
from simulator.session import Session
from simulator.shopper import ShopperState, derive_seed, make_population, run_tag
from simulator.state import NextVisit
from simulator.summary import SimulationSummary
from simulator.truth import RealisedOutcome, TruthEntry
from simulator.wire import (
    encode_event,
    event_from_activity,
    event_time,
    intervention_from_decision,
    to_builtins,
)

__all__ = ["Simulation"]

_SESSION, _VISIT, _DUPLICATE, _INTERVENTION, _DRIFT = 0, 1, 2, 3, 4
_DUPLICATE_MEAN_DELAY_S = 5.0


@dataclass(slots=True)
class _Chain:
    """The decisions of a session chain (a session and its return-to-buy visit) and its purchases."""

    decisions: list[str] = field(default_factory=list)
    purchases: list[tuple[float, float, str | None]] = field(default_factory=list)


class Simulation:
    """Simulate ``config.shoppers`` shoppers for ``config.duration_s`` sim seconds.

    Args:
        config: what to simulate.
        start_time: event time of sim time 0; default ``config.start_time``, else :data:`DEFAULT_START_TIME`.

    >>> sim = Simulation(SimulationConfig(shoppers=20, duration_s=600, seed=1))
    >>> records = sim.advance(600)
    >>> all(r.kind == "valid" for r in records), records == sorted(records, key=lambda r: r.sim_time)
    (True, True)
    """

    def __init__(self, config: SimulationConfig, start_time: datetime | None = None) -> None:
        self.config = config
        self.start_time = start_time or config.start_time or DEFAULT_START_TIME
        self.tag = run_tag(config.seed)
        seed = config.seed
        self.catalogue = Catalogue.build(
            random.Random(derive_seed(seed, "catalogue")), config.catalogue_size, config.categories
        )
        population = make_population(
            np.random.default_rng(derive_seed(seed, "population")),
            config.shoppers,
            len(self.catalogue.categories),
            self.tag,
        )
        self.shoppers = [ShopperState(traits) for traits in population]
        self.now = 0.0
        self._heap: list[tuple[float, int, int, Any, Any]] = []
        self._seq = itertools.count()
        arrivals = random.Random(derive_seed(seed, "arrivals"))
        for i in range(config.shoppers):
            t = arrivals.uniform(0.0, config.duration_s)
            self._push(t, _VISIT, i, NextVisit(t, "visit"))
        self._faults = random.Random(derive_seed(seed, "faults"))
        self._duplicates = random.Random(derive_seed(seed, "duplicates"))
        self.drifts: list[DriftRecord] = []
        if config.drift is not None and config.drift.at_s <= config.duration_s:
            self._push(config.drift.at_s, _DRIFT, 0, None)
        self._live: dict[str, Session] = {}
        self._owner: dict[str, int] = {}
        self._version: dict[str, int] = {}
        self._chains: dict[int, _Chain] = {}
        self.truth: dict[str, TruthEntry] = {}
        self._events: Counter[str] = Counter()
        self._records: Counter[str] = Counter()
        self._bad_reasons: Counter[str] = Counter()
        self._reactions: Counter[str] = Counter()
        self._other_status: Counter[str] = Counter()
        self._started = self._ended = self._converted = self._purchases = self._signups = 0
        self._received = self._applied = 0
        self._revenue = self._discount = 0.0

    @property
    def end(self) -> float:
        """Sim time of the end of the run."""
        return self.config.duration_s

    def time_of(self, t: float) -> datetime:
        """Event time of sim time ``t``."""
        return event_time(self.start_time, t)

    def session(self, session_id: str) -> Session | None:
        """A live session by id (ended sessions are gone)."""
        return self._live.get(session_id)

    def live_sessions(self) -> list[Session]:
        """The sessions in progress, by session id."""
        return [self._live[k] for k in sorted(self._live)]

    def advance(self, until: float) -> list[SimRecord]:
        """Run to sim time ``until`` (capped at the end) and return the records due, in due order."""
        until = min(float(until), self.config.duration_s)
        out: list[SimRecord] = []
        heap = self._heap
        while heap and heap[0][0] <= until:
            t, _, kind, a, b = heapq.heappop(heap)
            if kind == _SESSION:
                session = self._live.get(a)
                if session is None or self._version[a] != b:
                    continue
                act = session.pop()
                self._emit(act, out)
                nxt = session.peek()
                if nxt is None:
                    self._end_session(session, act.t)
                else:
                    self._push(nxt, _SESSION, a, b)
            elif kind == _VISIT:
                self._start_session(a, b)
            elif kind == _DUPLICATE:
                out.append(b)
                self._records["duplicate"] += 1
            elif kind == _DRIFT:
                self._drift(t)
            else:
                self._deliver(b, t)
        self.now = max(self.now, until)
        return out

    def apply_intervention(self, decision: Decision | Intervention, now: float) -> TruthEntry | None:
        """Show a decision to its shopper at sim time ``max(now, self.now, decision time)``.

        A decision whose time is ahead of the simulation waits on the heap; one for an unknown session or
        user, a session that has ended, or a decision id already seen is recorded and otherwise ignored.

        Returns:
            The decision's truth entry, or ``None`` when the payload does not fit the simulation.
        """
        try:
            iv = (
                decision
                if isinstance(decision, Intervention)
                else intervention_from_decision(decision, self.start_time)
            )
        except BadDecisionError:
            self._other_status["bad_payload"] += 1
            return None
        self._received += 1
        if iv.decision_id in self.truth:
            self._other_status["duplicate"] += 1
            return TruthEntry(iv.decision_id, iv.session_id, iv.action, max(now, self.now), status="duplicate")
        arrived = max(now, self.now)
        entry = TruthEntry(
            iv.decision_id,
            iv.session_id,
            iv.action,
            arrived,
            product_id=iv.product_id,
            category=iv.category,
            discount_pct=iv.discount_pct,
            user_id=iv.user_id,
            anonymous_id=iv.anonymous_id,
        )
        entry.regime = len(self.drifts)
        self.truth[iv.decision_id] = entry
        owner = self._owner.get(iv.session_id)
        if owner is None or not _same_identity(iv, self.shoppers[owner]):
            entry.status = "unknown_session"
            return entry
        entry.group = self.shoppers[owner].traits.group
        t = max(arrived, iv.t)
        if t > self.config.duration_s:
            entry.status = "expired"
        elif t > self.now:
            self._push(t, _INTERVENTION, 0, iv)
        else:
            self._deliver(iv, t)
        return entry

    def summary(self) -> SimulationSummary:
        """The counters so far."""
        statuses = Counter(e.status for e in self.truth.values()) + self._other_status
        return SimulationSummary(
            sim_time=self.now,
            sessions_started=self._started,
            sessions_ended=self._ended,
            sessions_converted=self._converted,
            events_by_type=dict(sorted(self._events.items())),
            records_by_kind=dict(sorted(self._records.items())),
            malformed_by_reason=dict(sorted(self._bad_reasons.items())),
            interventions_received=self._received,
            interventions_applied=self._applied,
            interventions_by_status=dict(sorted(statuses.items())),
            reactions=dict(sorted(self._reactions.items())),
            purchases=self._purchases,
            revenue=round(self._revenue, 2),
            discount_total=round(self._discount, 2),
            email_signups=self._signups,
            conversion_rate=self._converted / self._started if self._started else 0.0,
            truth_entries=len(self.truth),
        )

    def truth_entries(self) -> list[TruthEntry]:
        """Every decision received, in arrival order."""
        return list(self.truth.values())

    def _push(self, t: float, kind: int, a: Any, b: Any) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), kind, a, b))

    def _start_session(self, index: int, visit: NextVisit) -> None:
        shopper = self.shoppers[index]
        if visit.kind == "visit":
            self._close_chain(index, visit.t)
        sid = f"s-{self.tag}-{index:06d}-{shopper.sessions:03d}"
        seed = self.config.seed
        session = Session(
            shopper,
            self.catalogue,
            sid,
            visit.t,
            rng=random.Random(derive_seed(seed, sid, "browse")),
            react_rng=random.Random(derive_seed(seed, sid, "react")),
            kind=visit.kind,
            intent=visit.intent,
        )
        self._live[sid], self._owner[sid], self._version[sid] = session, index, 0
        self._started += 1
        first = session.peek()
        if first is not None:
            self._push(first, _SESSION, sid, 0)

    def _end_session(self, session: Session, t: float) -> None:
        sid = session.state.session_id
        del self._live[sid]
        self._ended += 1
        self._converted += session.state.purchased
        index = session.shopper.traits.index
        nxt = session.next_visit
        if nxt is not None and nxt.t <= self.config.duration_s:
            self._push(nxt.t, _VISIT, index, nxt)
            if nxt.kind == "return_to_buy":
                return
        self._close_chain(index, t)

    def _close_chain(self, index: int, t: float) -> None:
        chain = self._chains.pop(index, None)
        if chain is None:
            return
        value = sum(p[0] for p in chain.purchases)
        discount = sum(p[1] for p in chain.purchases)
        attributed = {p[2] for p in chain.purchases}
        for did in chain.decisions:
            self.truth[did].outcome = RealisedOutcome(bool(chain.purchases), value, discount, did in attributed, t)

    def _emit(self, act: Activity, out: list[SimRecord]) -> None:
        event = event_from_activity(act, self.start_time)
        key = (act.user_id or act.anonymous_id or "").encode()
        record = SimRecord(
            key,
            encode_event(event),
            "valid",
            act.event_id,
            None,
            event.event_time,
            act.t,
            act.kind,
            act.session_id,
        )
        out.append(record)
        self._records["valid"] += 1
        self._events[act.kind] += 1
        if act.kind == "purchase":
            value, discount = as_float(act.fields["order_value"]), as_float(act.fields["discount_total"])
            self._purchases += 1
            self._revenue += value
            self._discount += discount
            chain = self._chains.get(self._owner[act.session_id])
            if chain is not None:
                did = act.fields.get("decision_id")
                chain.purchases.append((value, discount, did if isinstance(did, str) else None))
        elif act.kind == "email_signup":
            self._signups += 1
        rate = self.config.malformed_rate
        if rate > 0.0 and self._faults.random() < rate:
            out.append(self._malformed(act, key))
        rate = self.config.duplicate_rate
        if rate > 0.0 and self._duplicates.random() < rate:
            due = min(self.config.duration_s, act.t + self._duplicates.expovariate(1.0 / _DUPLICATE_MEAN_DELAY_S))
            self._push(due, _DUPLICATE, 0, record._replace(kind="duplicate", sim_time=due))

    def _malformed(self, act: Activity, key: bytes) -> SimRecord:
        reason = pick_reason(self._faults)
        bad = replace(act, event_id=f"{act.event_id}-x", fields=dict(act.fields))
        if reason == "clock_skew_future":
            bad.t += FUTURE_SKEW_S
            event = event_from_activity(bad, self.start_time)
            value, stated = encode_event(event), event.event_time
        else:
            value = corrupt(to_builtins(event_from_activity(bad, self.start_time)), reason, self._faults)
            stated = self.time_of(act.t)
        self._records["malformed"] += 1
        self._bad_reasons[reason] += 1
        return SimRecord(key, value, "malformed", bad.event_id, reason, stated, act.t, act.kind, act.session_id)

    def _drift(self, t: float) -> None:
        """Shift every shopper's preferences and the prices (:mod:`simulator.drift`), live sessions included."""
        drift = self.config.drift
        assert drift is not None  # only scheduled with a drift config
        rng = np.random.default_rng(derive_seed(self.config.seed, "drift", len(self.drifts)))
        factors, fresh = draw_drift(drift, rng, self.catalogue.categories, len(self.shoppers))
        rows, l1 = fresh.tolist(), 0.0
        for shopper, row in zip(self.shoppers, rows, strict=True):
            old = shopper.traits
            shopper.traits = shift_preferences(old, tuple(row), drift.preference_mix)
            shopper.add_rates = None  # cached expectations depend on preferences and prices
            l1 += sum(abs(a - b) for a, b in zip(old.category_prefs, shopper.traits.category_prefs, strict=True))
        self.catalogue = reprice(self.catalogue, factors)
        for session in self._live.values():
            session.catalogue = self.catalogue
        self.drifts.append(DriftRecord(t, factors, l1 / max(1, len(self.shoppers))))

    def _deliver(self, iv: Intervention, t: float) -> None:
        entry = self.truth[iv.decision_id]
        session = self._live.get(iv.session_id)
        if session is None:
            entry.status = "session_ended"
            return
        shopper, state = session.shopper, session.state
        values = oracle_values(shopper, state, self.catalogue, t)
        chosen = oracle_breakdown(shopper, state, iv, self.catalogue, t)
        reaction = session.react(iv, t)
        self._version[iv.session_id] += 1
        nxt = session.peek()
        if nxt is not None:
            self._push(nxt, _SESSION, iv.session_id, self._version[iv.session_id])
        entry.status, entry.applied_at = "applied", t
        entry.oracle = {str(k): v for k, v in values.items()}
        entry.chosen_value, entry.best_action = chosen.value, best_action(values)
        entry.regret = regret(values, chosen.value)
        entry.reaction, entry.p_accept = reaction.kind, chosen.odds.accept
        entry.offered_product_id = reaction.product_id
        self._chains.setdefault(shopper.traits.index, _Chain()).decisions.append(iv.decision_id)
        self._applied += 1
        self._reactions[reaction.kind] += 1


def _same_identity(iv: Intervention, shopper: ShopperState) -> bool:
    """A decision names our shopper if every id it carries is the shopper's."""
    traits = shopper.traits
    if iv.user_id is not None and iv.user_id != traits.user_id:
        return False
    return iv.anonymous_id is None or iv.anonymous_id == traits.anonymous_id
