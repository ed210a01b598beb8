"""The lobby's board: standings kept from push to push, counted on after check-ins at
the end of the queue, passed over afresh after any other change."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from rooms import waiting as rules
from rooms.board import Board
from rooms.state import Ticket
from tests.rooms.test_waiting_rules import ticket, tickets

ON_DUTY = Counter({"melde": 2, "kfz": 1})


def test_check_ins_at_the_end_change_only_their_own_standing() -> None:
    board = Board()
    queue = [ticket("a", at=1), ticket("b", "kfz", at=2), ticket("c", at=3)]
    assert board.update(queue[:2], ON_DUTY) is None  # the first pass: everyone
    assert set(board.update(queue, ON_DUTY) or ()) == {"c"}
    assert board.standings == rules.standings(queue, ON_DUTY)
    assert board.count({"melde"}) == 2
    assert board.count({"melde", "kfz"}) == 3


def test_a_take_a_leave_or_a_clerk_passes_over_everyone() -> None:
    board = Board()
    queue = [ticket("a", at=1), ticket("b", at=2), ticket("c", at=3)]
    board.update(queue, ON_DUTY)
    assert board.update(queue[1:], ON_DUTY) is None  # the head was taken
    assert board.standings["c"].position == 2
    assert board.update(queue[1:], Counter({"melde": 1})) is None  # a clerk went away
    assert board.standings["c"].estimate_minutes == 15
    late = ticket("early", at=0)  # checked in late, for an earlier appointment
    assert board.update([late, *queue[1:]], Counter({"melde": 1})) is None
    assert board.standings["c"].position == 3
    assert board.count({"melde"}) == 3


@given(st.lists(tickets, min_size=1, max_size=6))
def test_whatever_the_changes_the_board_agrees_with_a_fresh_pass(
    queues: list[list[Ticket]],
) -> None:
    board = Board()
    for waiting in queues:
        queue = sorted(waiting, key=Ticket.order)
        board.update(queue, ON_DUTY)
        assert board.standings == rules.standings(queue, ON_DUTY)
        assert board.count({"melde", "kfz", "beratung"}) == len(queue)
