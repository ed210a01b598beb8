"""The waiting room's rules without sockets or a store: standings, who is on duty,
clerk states, the end of a clerk's grace period."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from rooms import waiting as rules
from rooms.state import Call, ClerkPresence, ClerkState, Ticket

T0 = 1_700_000_000.0


def for_skills(waiting: list[Ticket], skills: set[str]) -> list[Ticket]:
    """What a clerk with these skills can take, counted the plain way."""
    return [t for t in waiting if t.skill in skills]


def ticket(
    appointment_id: str,
    skill: str = "melde",
    *,
    at: float = T0,
    checked_in: float = T0 - 600,
    minutes: int = 15,
    front: bool = False,
) -> Ticket:
    return Ticket(appointment_id, f"svc-{skill}", skill, minutes, at, checked_in, front)


def clerk(clerk_id: int, *skills: str, state: ClerkState = ClerkState.AVAILABLE) -> ClerkPresence:
    return ClerkPresence(clerk_id, f"Clerk {clerk_id}", frozenset(skills), state, T0)


def test_on_duty_counts_every_clerk_but_those_away_per_skill() -> None:
    presences = [
        clerk(1, "melde", "kfz"),
        clerk(2, "melde", state=ClerkState.IN_CALL),
        clerk(3, "melde", state=ClerkState.AFTER_CALL),
        clerk(4, "melde", "kfz", state=ClerkState.AWAY),
    ]
    assert rules.on_duty(presences) == Counter({"melde": 3, "kfz": 1})


def test_the_estimate_shares_the_time_ahead_among_the_clerks_on_duty() -> None:
    queue = [ticket("a", minutes=20), ticket("b", minutes=10), ticket("c", minutes=15)]
    one = rules.standings(queue, Counter({"melde": 1}))
    assert [one[i] for i in "abc"] == [
        rules.Standing(1, 0, 1),
        rules.Standing(2, 20, 1),
        rules.Standing(3, 30, 1),
    ]
    two = rules.standings(queue, Counter({"melde": 2}))
    assert (two["b"].estimate_minutes, two["c"].estimate_minutes) == (10, 15)
    three = rules.standings(queue, Counter({"melde": 3}))
    assert three["b"].estimate_minutes == 7  # rounded up: never promise too early


def test_no_estimate_while_nobody_with_the_skill_is_on_duty() -> None:
    queue = [ticket("a"), ticket("b", "kfz")]
    found = rules.standings(queue, Counter({"kfz": 1}))
    assert found["a"] == rules.Standing(1, None, 0)
    assert found["b"] == rules.Standing(1, 0, 1)  # each skill is a queue of its own


def test_a_returned_citizen_stands_first() -> None:
    late = ticket("late", at=T0 + 3600, front=True)
    early = ticket("early")
    assert rules.standing_of(late, [early, late], Counter({"melde": 1})).position == 1
    assert rules.standing_of(early, [early, late], Counter({"melde": 1})).position == 2


tickets = st.lists(
    st.builds(
        ticket,
        st.uuids().map(str),
        st.sampled_from(["melde", "kfz", "beratung"]),
        at=st.integers(0, 20).map(lambda n: T0 + 900 * n),
        checked_in=st.integers(0, 100).map(lambda n: T0 - n),
        minutes=st.sampled_from([10, 15, 30]),
        front=st.booleans(),
    ),
    max_size=30,
    unique_by=lambda t: t.appointment_id,
)


@given(tickets, st.dictionaries(st.sampled_from(["melde", "kfz"]), st.integers(0, 4)))
def test_the_one_pass_agrees_with_each_ticket_asked_alone(
    waiting: list[Ticket], online: dict[str, int]
) -> None:
    """The lobby's bulk push and a citizen's own join answer with the same standing."""
    queue = sorted(waiting, key=Ticket.order)
    on_duty = Counter(online)
    bulk = rules.standings(queue, on_duty)
    assert bulk == {t.appointment_id: rules.standing_of(t, waiting, on_duty) for t in queue}
    for skill in {t.skill for t in queue}:
        positions = [bulk[t.appointment_id].position for t in queue if t.skill == skill]
        assert positions == list(range(1, len(positions) + 1))


@given(
    tickets,
    st.integers(0, 30),
    st.dictionaries(st.sampled_from(["melde", "kfz"]), st.integers(0, 4)),
)
def test_a_pass_that_goes_on_from_a_tally_agrees_with_one_pass_over_all(
    waiting: list[Ticket], cut: int, online: dict[str, int]
) -> None:
    """The lobby's push after check-ins at the end of the queue: the standings of the
    new tickets, from the last pass's tally, are those of a pass over everyone."""
    queue = sorted(waiting, key=Ticket.order)
    on_duty = Counter(online)
    tally: rules.Tally = {}
    first = rules.standings(queue[:cut], on_duty, tally)
    rest = rules.standings(queue[cut:], on_duty, tally)
    assert first | rest == rules.standings(queue, on_duty)
    skills = {"melde", "kfz"}
    assert rules.count_for_skills(tally, skills) == len(for_skills(queue, skills))
    assert rules.count_for_skills(tally, {"kfz"}) == len(for_skills(queue, {"kfz"}))


@given(tickets, st.integers(1, 10))
def test_a_clerks_first_rows_are_the_head_of_her_list(waiting: list[Ticket], rows: int) -> None:
    queue = sorted(waiting, key=Ticket.order)
    for skills in ({"melde"}, {"kfz"}, {"melde", "kfz"}, set()):
        head = for_skills(queue, skills)[:rows]
        assert rules.first_for_skills(queue, skills, rows) == head


def test_a_clerks_list_shows_what_her_skills_can_take_in_queue_order() -> None:
    queue = [ticket("a"), ticket("b", "kfz"), ticket("c", "beratung"), ticket("d")]
    first = rules.first_for_skills(queue, {"melde", "kfz"})
    assert [t.appointment_id for t in first] == ["a", "b", "d"]


def test_state_on_connect() -> None:
    assert rules.state_on_connect(None, in_call=False) == ClerkState.AVAILABLE
    assert rules.state_on_connect(ClerkState.AWAY, in_call=False) == ClerkState.AWAY
    # The call ended while she was gone: her after-call work, not straight back to the queue.
    assert rules.state_on_connect(ClerkState.IN_CALL, in_call=False) == ClerkState.AFTER_CALL
    assert rules.state_on_connect(ClerkState.AWAY, in_call=True) == ClerkState.IN_CALL
    assert rules.state_on_connect(None, in_call=True) == ClerkState.IN_CALL


def test_a_call_decides_the_state_while_it_lasts() -> None:
    assert rules.state_chosen(ClerkState.AWAY, in_call=False) == ClerkState.AWAY
    assert rules.state_chosen(ClerkState.AWAY, in_call=True) == ClerkState.IN_CALL


def test_a_clerk_moved_on_only_when_back_elsewhere_after_the_call_and_out_of_it() -> None:
    call = Call("call-1", "a", 7, ticket("a"), started_at=T0)
    after = ClerkPresence(7, "Clerk 7", frozenset({"melde"}), ClerkState.AVAILABLE, T0 + 5)
    assert rules.moved_on(after, call)
    assert not rules.moved_on(None, call)  # gone everywhere: the citizen goes back
    assert not rules.moved_on(after.with_state(ClerkState.IN_CALL, T0 + 5), call)
    assert not rules.moved_on(after.with_state(ClerkState.AVAILABLE, T0 - 5), call)  # stale
