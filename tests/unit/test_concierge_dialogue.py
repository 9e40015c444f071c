"""Dialogue state: a pure, bounded, picklable update."""

from __future__ import annotations

import json
import pickle

from serving.concierge import Constraints, DialogueState, TurnSummary, advance, merge_constraints


def _turn(shown: tuple[str, ...], *, resolved: bool = True, constraints: Constraints | None = None) -> TurnSummary:
    found = constraints if constraints is not None else Constraints()
    return TurnSummary("msg " * 100, "open_question", "product_inquiry", found, shown, resolved)


def test_advance_is_pure_and_counts_turns() -> None:
    state = DialogueState("s1")
    after = advance(state, _turn(("a",)))
    assert state == DialogueState("s1")
    assert after.turns == 1 and after.last_intent == "product_inquiry" and after.shown_ids == ("a",)


def test_shown_ids_are_bounded_and_most_recent_last() -> None:
    state = DialogueState("s1")
    for n in range(30):
        state = advance(state, _turn((f"p{n}", "p0")), max_shown=5)
    assert len(state.shown_ids) == 5 and state.shown_ids[-1] == "p0" and state.shown_ids[-2] == "p29"


def test_unresolved_is_truncated_and_cleared() -> None:
    state = advance(DialogueState("s1"), _turn((), resolved=False))
    assert state.unresolved is not None and len(state.unresolved) == 200
    assert advance(state, _turn(())).unresolved is None


def test_constraints_refine_then_switch_context() -> None:
    books = Constraints("books", max_price=20.0, in_stock=True)
    assert merge_constraints(books, Constraints(min_price=5.0)) == Constraints("books", 20.0, 5.0, True)
    assert merge_constraints(books, Constraints("books", max_price=10.0)) == Constraints("books", 10.0, None, True)
    assert merge_constraints(books, Constraints("toys")) == Constraints("toys")
    assert merge_constraints(books, Constraints()) == books


def test_state_pickles_and_round_trips_through_json() -> None:
    state = advance(DialogueState("s1"), _turn(("a", "b"), constraints=Constraints("books", max_price=9.5)))
    assert pickle.loads(pickle.dumps(state)) == state
    assert DialogueState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
