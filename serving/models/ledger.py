"""Open offer impressions awaiting a response, turned into (user, item, accepted) outcomes; bounded memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from serving.models.errors import ModelConfigError

__all__ = ["ImpressionLedger", "OfferOutcome", "OpenImpression"]


@dataclass(frozen=True, slots=True)
class OpenImpression:
    """An offer that was shown and has had no response yet."""

    user: str
    item: str
    session_id: str
    product_id: str | None
    t: datetime


@dataclass(frozen=True, slots=True)
class OfferOutcome:
    """A response to learn from: ``accepted`` is the label for (user, item)."""

    user: str
    item: str
    accepted: bool


class ImpressionLedger:
    """Which shown offers are still open, by decision id, with a per-session index.

    Positive: a click, or an add-to-cart / purchase of the offered product in the same session. Negative: a
    dismissal, the session ending, ``max_age`` of event time passing, or eviction (more than ``max_open`` open).
    Every impression resolves at most once; responses to unknown decision ids are ignored.

    Args:
        max_open: most impressions awaiting a response.
        max_age: event time after which an unanswered impression counts as declined.

    Raises:
        ModelConfigError: a non-positive bound.

    >>> from datetime import datetime, timezone
    >>> ledger, t = ImpressionLedger(), datetime(2025, 1, 1, tzinfo=timezone.utc)
    >>> ledger.open("d1", OpenImpression(user="u1", item="p9", session_id="s1", product_id="p9", t=t))
    []
    >>> ledger.resolve_product("s1", "p9")
    [OfferOutcome(user='u1', item='p9', accepted=True)]
    >>> ledger.resolve("d1", accepted=False) is None
    True
    """

    def __init__(self, max_open: int = 100_000, max_age: timedelta = timedelta(hours=1)) -> None:
        if max_open < 1 or max_age <= timedelta(0):
            raise ModelConfigError(f"need max_open >= 1 and a positive max_age, got {max_open=} {max_age=}")
        self.max_open = max_open
        self.max_age = max_age
        self.expired = 0
        self._open: OrderedDict[str, OpenImpression] = OrderedDict()
        self._by_session: dict[str, dict[str, None]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self, decision_id: str, impression: OpenImpression) -> list[OfferOutcome]:
        """Record a shown offer; returns the negatives of impressions that aged out or were evicted to make room."""
        outcomes = self._expire(impression.t)
        if decision_id in self._open:
            return outcomes
        self._open[decision_id] = impression
        self._by_session.setdefault(impression.session_id, {})[decision_id] = None
        while len(self._open) > self.max_open:
            oldest = next(iter(self._open))
            outcomes.append(self._pop(oldest, accepted=False))
            self.expired += 1
        return outcomes

    def resolve(self, decision_id: str, accepted: bool) -> OfferOutcome | None:
        """A click (``True``) or dismissal (``False``) of one decision's offer; ``None`` when it is not open."""
        if decision_id not in self._open:
            return None
        return self._pop(decision_id, accepted)

    def resolve_product(self, session_id: str, product_id: str) -> list[OfferOutcome]:
        """Positives for the session's open offers of ``product_id`` (it was added to cart or bought)."""
        ids = [d for d in self._by_session.get(session_id, {}) if self._open[d].product_id == product_id]
        return [self._pop(d, accepted=True) for d in ids]

    def close_session(self, session_id: str) -> list[OfferOutcome]:
        """Negatives for every offer of the session still open when it ends."""
        return [self._pop(d, accepted=False) for d in list(self._by_session.get(session_id, {}))]

    def _pop(self, decision_id: str, accepted: bool) -> OfferOutcome:
        imp = self._open.pop(decision_id)
        in_session = self._by_session[imp.session_id]
        del in_session[decision_id]
        if not in_session:
            del self._by_session[imp.session_id]
        return OfferOutcome(imp.user, imp.item, accepted)

    def _expire(self, t: datetime) -> list[OfferOutcome]:
        horizon = t - self.max_age
        outcomes: list[OfferOutcome] = []
        while self._open:
            decision_id, oldest = next(iter(self._open.items()))
            if oldest.t >= horizon:
                break
            outcomes.append(self._pop(decision_id, accepted=False))
            self.expired += 1
        return outcomes
