"""One shopping session as a state machine in event time: browse, cart, checkout, purchase or leave, end.

A :class:`Session` plans one step ahead: :meth:`Session.peek` tells the engine when the next activity is due
and :meth:`Session.pop` emits it, applies it to the state and plans the next. :meth:`Session.react` shows the
shopper an intervention (see :mod:`simulator.reaction`), which replaces whatever was planned.
"""

from __future__ import annotations

import copy
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, replace

from simulator.activity import Activity, CartLine, FieldValue, Intervention, as_float, as_int
from simulator.behaviour import (
    EMAIL_CONSENT_RATE,
    PERSONALISATION_CONSENT_RATE,
    SESSION_TIMEOUT_S,
    VIEW_SHARE,
    add_probability,
    completion_probability,
    defer_probability,
    drop_hazard,
    return_probability,
    survey_score,
)
from simulator.catalogue import Catalogue
from simulator.reaction import Reaction, ReactionPlan, plan_reaction
from simulator.shopper import ShopperState
from simulator.state import LeaveReason, NextVisit, SessionKind, SessionState
from simulator.text import chat_question, email_hash, search_query, survey_comment

__all__ = ["Session"]

_EXIT_INTENT_RATE = {"desktop": 0.85, "tablet": 0.5, "mobile": 0.35}
_IDLE_RATE = 0.04
_SURVEY_RATE = 0.2
_DEFER_MEDIAN_S = 2400.0


@dataclass(slots=True)
class _Planned:
    """A planned activity and the state changes it makes when emitted."""

    activity: Activity
    consume_step: bool = False
    leave: tuple[float, LeaveReason] | None = None
    floor: float | None = None


class Session:
    """A session of one shopper. All randomness comes from the two generators passed in.

    Args:
        shopper: the shopper's carried state (annoyance, saved cart, offer); mutated by the session.
        catalogue: the products.
        session_id: the wire session id; event ids are ``{session_id}-{n:04d}``.
        start: sim time of the landing page.
        rng: the session's browsing stream.
        react_rng: the stream for reactions to interventions (so interventions do not shift browsing draws).
        kind: ``visit`` or ``return_to_buy``.
        intent: the purchase intent; drawn from the shopper's propensity when ``None``.
    """

    def __init__(
        self,
        shopper: ShopperState,
        catalogue: Catalogue,
        session_id: str,
        start: float,
        *,
        rng: random.Random,
        react_rng: random.Random,
        kind: SessionKind = "visit",
        intent: float | None = None,
    ) -> None:
        traits = shopper.traits
        self.shopper = shopper
        self.catalogue = catalogue
        self.rng = rng
        self.react_rng = react_rng
        self.next_visit: NextVisit | None = None
        self._surveyed = False
        self._seq = 0
        self._queue: list[_Planned] = []
        self._cum_prefs = traits.cum_prefs
        self._log_patience = math.log(traits.patience)
        if intent is None:
            intent = min(1.0, traits.buy_propensity * rng.gammavariate(0.8, 1.25))
        if kind == "return_to_buy":
            intent, steps = max(0.6, intent), 0
        else:
            mean_steps = 4.0 * math.sqrt(traits.patience / 25.0) + 6.0 * intent
            steps = 2 + int(rng.expovariate(1.0 / mean_steps))
        self.state = SessionState(
            session_id=session_id,
            kind=kind,
            started_at=start,
            t=start,
            intent=intent,
            u_buy=rng.random(),
            steps_left=steps,
        )
        shopper.sessions += 1
        if shopper.sessions == 1:
            # The consent banner on the first visit: a per-shopper draw that leaves every other stream untouched.
            consents = random.Random(f"{shopper.traits.anonymous_id}:consent").random() < PERSONALISATION_CONSENT_RATE
            self._push("consent_update", start, {"personalisation": consents, "marketing": None})
        self.state.cart = {line.product_id: line for line in shopper.saved_cart}
        if shopper.offer is not None and shopper.offer.expires_at > start:
            self.state.discount_pct = shopper.offer.discount_pct
            self.state.offer_decision_id = shopper.offer.decision_id
            self.state.offer_accepted = True
        if kind == "return_to_buy" and self.state.cart:
            self._plan_page(start, "cart", "/cart")
        else:
            self._plan_landing(start)

    def peek(self) -> float | None:
        """Sim time of the next activity, or ``None`` when the session is over."""
        return self._queue[0].activity.t if self._queue else None

    def pop(self) -> Activity:
        """Emit the next activity, apply it to the state, and plan the one after."""
        planned = self._queue.pop(0)
        act = planned.activity
        act.event_id = f"{self.state.session_id}-{self._seq:04d}"
        self._seq += 1
        self._apply(act, planned)
        if not self._queue and not self.state.ended:
            self._plan(act.t)
        return act

    def react(self, intervention: Intervention, now: float) -> Reaction:
        """Show ``intervention`` to the shopper at sim time ``now`` and schedule the reaction's activities.

        The impression always follows (unless the action is ``none`` or the session is over); then the shopper
        accepts, ignores, dismisses or leaves, with the probabilities of
        :func:`simulator.behaviour.reaction_odds`.
        """
        t0 = max(now, self.state.t)
        plan: ReactionPlan = plan_reaction(
            intervention, self.shopper, self.state, self.catalogue, t0, rng=self.react_rng
        )
        if plan.reaction.kind in ("none", "expired"):
            return plan.reaction
        self._queue = [_Planned(self._make(kind, t, fields)) for kind, t, fields in plan.activities]
        if not self._queue:
            self._plan(t0)
        return plan.reaction

    def replan(self, now: float) -> None:
        """Drop what was planned and plan again from the state at ``now`` (as a shown intervention does)."""
        if not self.state.ended:
            self._queue = []
            self._plan(max(now, self.state.t))

    def fork(self, seed: int | str) -> Session:
        """An independent copy of this session (state, shopper state, plan) with fresh generators."""
        clone = copy.copy(self)
        clone.state = self.state.snapshot()
        clone.shopper = self.shopper.clone()
        clone.rng = random.Random(f"{seed}:browse")
        clone.react_rng = random.Random(f"{seed}:react")
        clone._queue = [replace(p, activity=replace(p.activity, fields=dict(p.activity.fields))) for p in self._queue]
        return clone

    def _apply(self, act: Activity, planned: _Planned) -> None:
        st, f, kind = self.state, act.fields, act.kind
        st.t = act.t
        if planned.consume_step:
            st.steps_left -= 1
        if kind == "page_view":
            st.page_type, st.category, st.product_id = str(f["page_type"]), _opt(f["category"]), None
        elif kind == "product_view":
            st.page_type, st.category, st.product_id = "product", str(f["category"]), str(f["product_id"])
        elif kind == "search":
            st.page_type, st.product_id = "search", None
        elif kind == "add_to_cart":
            pid = str(f["product_id"])
            st.cart[pid] = CartLine(pid, as_int(f["quantity"]), as_float(f["unit_price"]), str(f["category"]))
        elif kind == "remove_from_cart":
            st.cart.pop(str(f["product_id"]), None)
        elif kind == "checkout_start":
            st.phase, st.page_type = "checkout", "checkout"
        elif kind == "purchase":
            st.purchased = True
            st.order_value, st.discount_total = (
                as_float(f["order_value"]),
                as_float(f["discount_total"]),
            )
            st.cart.clear()
            self.shopper.saved_cart, self.shopper.offer = (), None
            self.shopper.purchases += 1
        elif kind == "chat_message":
            st.asked_question = True
        elif kind == "email_signup":
            self.shopper.email_signed_up = True
        elif kind == "session_end":
            self._finish(act.t)
        if planned.floor is not None:
            st.u_floor = max(st.u_floor, planned.floor)
        if planned.leave is not None:
            st.leaving, (st.leave_at, st.leave_reason) = True, planned.leave
            if st.phase == "checkout":
                st.phase = "browse"

    def _finish(self, t: float) -> None:
        st, shopper = self.state, self.shopper
        st.phase, st.leaving = "ended", False
        if not st.purchased:
            shopper.saved_cart = tuple(st.cart.values())
        annoyance = shopper.annoyance_now(t)
        if self.rng.random() < defer_probability(st):
            delay = self.rng.lognormvariate(math.log(_DEFER_MEDIAN_S), 1.0)
            self.next_visit = NextVisit(t + max(60.0, delay), "return_to_buy", st.intent)
        elif self.rng.random() < return_probability(shopper.traits, annoyance):
            self.next_visit = NextVisit(t + self.rng.expovariate(1.0 / shopper.traits.return_gap_s), "visit")

    def _make(self, kind: str, t: float, fields: dict[str, FieldValue]) -> Activity:
        traits = self.shopper.traits
        return Activity(kind, t, self.state.session_id, traits.user_id, traits.anonymous_id, traits.device, "", fields)

    def _push(
        self,
        kind: str,
        t: float,
        fields: dict[str, FieldValue],
        *,
        consume_step: bool = False,
        leave: tuple[float, LeaveReason] | None = None,
        floor: float | None = None,
    ) -> None:
        self._queue.append(_Planned(self._make(kind, t, fields), consume_step, leave, floor))

    def _dwell(self, scale: float = 1.0) -> float:
        """A log-normal dwell around ``patience * scale`` seconds, within [1, 600]."""
        return min(600.0, max(1.0, scale * math.exp(self._log_patience + 0.6 * self.rng.gauss())))

    def _pick_category(self) -> str:
        i = bisect_right(self._cum_prefs, self.rng.random() * self._cum_prefs[-1])
        return self.catalogue.categories[min(i, len(self.catalogue.categories) - 1)]

    def _plan_page(self, t: float, page_type: str, url: str, category: str | None = None, step: bool = False) -> None:
        self._push("page_view", t, {"page_type": page_type, "url": url, "category": category}, consume_step=step)

    def _plan_product(self, t: float, category: str, step: bool = True) -> None:
        p = self.catalogue.sample(category, self.rng)
        fields: dict[str, FieldValue] = {"product_id": p.product_id, "category": category, "price": p.price}
        self._push("product_view", t, fields, consume_step=step)

    def _plan_landing(self, t: float) -> None:
        u, category = self.rng.random(), self._pick_category()
        if u < 0.35:
            self._plan_page(t, "home", "/")
        elif u < 0.65:
            self._plan_page(t, "category", f"/c/{category}", category)
        elif u < 0.85:
            self._plan_product(t, category, step=False)
        else:
            self._plan_search(t, category, step=False)

    def _plan_search(self, t: float, category: str, step: bool = True) -> None:
        query = search_query(self.rng, category)
        results = self.rng.randint(0, len(self.catalogue.by_category[category]))
        self._push("search", t, {"query": query, "results_count": results}, consume_step=step)

    def _plan(self, t: float) -> None:
        st, traits = self.state, self.shopper.traits
        if st.leaving:
            self._push("session_end", max(t, st.leave_at), {"reason": st.leave_reason})
            return
        if st.purchased:
            self._plan_after_purchase(t)
            return
        if st.phase == "checkout":
            self._plan_resolution(t)
            return
        annoyance = self.shopper.annoyance_now(t)
        dwell = self._dwell()
        if self.rng.random() < _IDLE_RATE:
            pause = self.rng.expovariate(1.0 / traits.idle_mean_s)
            if pause > SESSION_TIMEOUT_S:
                self._plan_leave(t, "timeout")
                return
            dwell += pause
        t1 = t + dwell
        if st.page_type == "product" and st.product_id is not None and st.product_id not in st.cart:
            product = self.catalogue.by_id[st.product_id]
            pref = traits.preference(self.catalogue.category_index[product.category])
            if self.rng.random() < add_probability(traits, st, product, pref):
                qty = 1 if self.rng.random() < 0.8 else self.rng.randint(2, 3)
                fields: dict[str, FieldValue] = {
                    "product_id": product.product_id,
                    "quantity": qty,
                    "unit_price": product.price,
                    "category": product.category,
                }
                self._push("add_to_cart", t + self._dwell(0.3), fields)
                return
        if st.steps_left <= 0:
            if not st.cart:
                self._plan_leave(t1, "closed")
            elif st.page_type != "cart":
                self._plan_page(t1, "cart", "/cart")
            else:
                self._push("checkout_start", t1, {"cart_value": round(st.cart_gross, 2), "item_count": st.cart_items})
            return
        if self.rng.random() < drop_hazard(traits, st, annoyance):
            self._plan_leave(t1, "closed")
            return
        self._plan_browse(t1)

    def _plan_browse(self, t: float) -> None:
        st, traits, rng = self.state, self.shopper.traits, self.rng
        u = rng.random()
        stay = st.category is not None and rng.random() < 0.6
        category = st.category if stay and st.category is not None else self._pick_category()
        if u < VIEW_SHARE:
            self._plan_product(t, category)
        elif u < 0.70:
            self._plan_page(t, "category", f"/c/{category}", category, step=True)
        elif u < 0.80:
            self._plan_search(t, category)
        elif u < 0.85 and st.cart:
            self._plan_page(t, "cart", "/cart", step=True)
        elif u < 0.88 and st.cart:
            line = st.cart[rng.choice(sorted(st.cart))]
            self._push(
                "remove_from_cart",
                t,
                {"product_id": line.product_id, "quantity": line.quantity},
                consume_step=True,
            )
        elif u < 0.88 + 0.3 * traits.chattiness:
            n = self._seq
            text, about_discount = chat_question(rng, category, traits.budget)
            st.discount_seeker = st.discount_seeker or about_discount
            self._push("chat_message", t, {"text": text, "message_id": f"{st.session_id}-m{n}"}, consume_step=True)
        else:
            page = "account" if traits.logged_in and rng.random() < 0.5 else "other"
            self._plan_page(t, page, f"/{page}", step=True)

    def _plan_resolution(self, t: float) -> None:
        st, shopper = self.state, self.shopper
        if not shopper.email_signed_up and self.rng.random() < 0.3 * shopper.traits.email_propensity:
            consent = self.rng.random() < EMAIL_CONSENT_RATE
            signup: dict[str, FieldValue] = {
                "email_hash": email_hash(shopper.traits.anonymous_id),
                "consent_marketing": consent,
            }
            self._push("email_signup", t + self._dwell(0.5), signup)
            return
        p = completion_probability(shopper.traits, st, shopper.annoyance_now(t))
        t1 = t + self._dwell(2.0)
        if st.u_buy < p and st.cart:
            lines = tuple(
                replace(line, discount=round(line.gross * st.discount_pct / 100.0, 2)) for line in st.cart.values()
            )
            discount = round(sum(line.discount for line in lines), 2)
            fields: dict[str, FieldValue] = {
                "order_id": f"o-{st.session_id}",
                "items": lines,
                "order_value": round(sum(line.gross for line in lines) - discount, 2),
                "currency": "EUR",
                "discount_total": discount,
                "decision_id": st.offer_decision_id,
            }
            self._push("purchase", t1, fields)
        else:
            self._plan_leave(t1, "closed", floor=p)

    def _plan_leave(self, t: float, reason: LeaveReason, floor: float | None = None) -> None:
        st, device = self.state, self.shopper.traits.device
        if reason == "timeout":  # gone idle from now: the session times out unless something brings them back
            st.leaving, st.leave_at, st.leave_reason = True, t + SESSION_TIMEOUT_S, "timeout"
            self._push("session_end", st.leave_at, {"reason": "timeout"}, floor=floor)
        elif self.rng.random() < _EXIT_INTENT_RATE[device]:
            end = t + self.rng.uniform(2.0, 10.0)
            self._push("exit_intent", t, {"page_type": st.page_type}, leave=(end, reason), floor=floor)
        else:
            self._push("session_end", t, {"reason": reason}, floor=floor)

    def _plan_after_purchase(self, t: float) -> None:
        st, shopper = self.state, self.shopper
        if st.decisions and not self._surveyed and self.rng.random() < _SURVEY_RATE:
            score = survey_score(self.rng.random(), st.offer_accepted, shopper.annoyance_now(t))
            fields: dict[str, FieldValue] = {
                "survey_id": "csat-v1",
                "score": score,
                "comment": survey_comment(self.rng, score),
                "decision_id": st.decisions[-1],
            }
            self._push("survey_response", t + self._dwell(0.5), fields)
            self._surveyed = True
            return
        reason: LeaveReason = "logout" if shopper.traits.logged_in and self.rng.random() < 0.3 else "closed"
        self._push("session_end", t + self._dwell(0.5), {"reason": reason})


def _opt(value: FieldValue) -> str | None:
    return None if value is None else str(value)
