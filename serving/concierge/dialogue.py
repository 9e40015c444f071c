"""Per-session dialogue state (last intent, constraints, items shown, unresolved question) and its pure update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from serving.concierge.constraints import Constraints

__all__ = ["DialogueState", "TurnSummary", "advance", "merge_constraints"]

MAX_UNRESOLVED_CHARS: Final = 200


@dataclass(frozen=True, slots=True)
class TurnSummary:
    """What one turn contributes to the state.

    Attributes:
        message: the shopper's message.
        route: the route value it took.
        intent: the intent head's label, when a head ran.
        constraints: the constraints read from this message alone.
        shown_ids: product ids the reply mentioned.
        resolved: whether the reply answered it (not a clarification, hand-over or "nothing found").
    """

    message: str
    route: str
    intent: str | None
    constraints: Constraints
    shown_ids: tuple[str, ...]
    resolved: bool


@dataclass(frozen=True, slots=True)
class DialogueState:
    """One conversation's memory; immutable, bounded, picklable, JSON-able via :meth:`to_dict`.

    Attributes:
        session_id: the conversation's session.
        turns: turns seen.
        last_intent: the last turn's intent label (``None`` without a head).
        last_route: the last turn's route value.
        constraints: the filters in force (merged across turns, reset on a category switch).
        shown_ids: product ids already shown, most recent last, at most ``max_shown`` of them.
        unresolved: the last message the concierge could not answer, until a later turn is answered.
    """

    session_id: str
    turns: int = 0
    last_intent: str | None = None
    last_route: str | None = None
    constraints: Constraints = field(default_factory=Constraints)
    shown_ids: tuple[str, ...] = ()
    unresolved: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for a table or a log)."""
        c = self.constraints
        return {
            "session_id": self.session_id,
            "turns": self.turns,
            "last_intent": self.last_intent,
            "last_route": self.last_route,
            "constraints": {
                "category": c.category,
                "max_price": c.max_price,
                "min_price": c.min_price,
                "in_stock": c.in_stock,
            },
            "shown_ids": list(self.shown_ids),
            "unresolved": self.unresolved,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogueState:
        """The inverse of :meth:`to_dict`."""
        return cls(
            session_id=str(data["session_id"]),
            turns=int(data["turns"]),
            last_intent=data.get("last_intent"),
            last_route=data.get("last_route"),
            constraints=Constraints(**data.get("constraints", {})),
            shown_ids=tuple(data.get("shown_ids", ())),
            unresolved=data.get("unresolved"),
        )


def merge_constraints(previous: Constraints, new: Constraints) -> Constraints:
    """The filters in force after a message: a new category switches context, otherwise new values refine.

    >>> merge_constraints(Constraints("books", max_price=20.0), Constraints(max_price=15.0))
    Constraints(category='books', max_price=15.0, min_price=None, in_stock=False)
    >>> merge_constraints(Constraints("books", max_price=20.0), Constraints("toys"))
    Constraints(category='toys', max_price=None, min_price=None, in_stock=False)
    """
    if new.category is not None and new.category != previous.category:
        return new
    return Constraints(
        category=previous.category,
        max_price=new.max_price if new.max_price is not None else previous.max_price,
        min_price=new.min_price if new.min_price is not None else previous.min_price,
        in_stock=previous.in_stock or new.in_stock,
    )


def advance(state: DialogueState, turn: TurnSummary, max_shown: int = 20) -> DialogueState:
    """The state after ``turn``; pure (``state`` is not changed).

    Args:
        state: the state before the turn.
        turn: what happened in it.
        max_shown: how many shown product ids to remember (oldest forgotten first).

    Returns:
        The new state.
    """
    shown = [pid for pid in state.shown_ids if pid not in turn.shown_ids]
    shown.extend(dict.fromkeys(turn.shown_ids))
    unresolved = None if turn.resolved else turn.message[:MAX_UNRESOLVED_CHARS]
    return DialogueState(
        session_id=state.session_id,
        turns=state.turns + 1,
        last_intent=turn.intent,
        last_route=turn.route,
        constraints=merge_constraints(state.constraints, turn.constraints),
        shown_ids=tuple(shown[-max_shown:]),
        unresolved=unresolved,
    )
