"""The waiting room's rules, as plain functions of the live state.

A citizen's standing (place and estimated wait) in the queue of their service's
skill; which clerks count as on duty; the state a clerk is in after connecting,
choosing or a call; whether a clerk who dropped out of a call has moved on. No I/O:
the socket layer reads the store, asks these, and pushes what they answer.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

from rooms.state import Ahead, Call, ClerkPresence, ClerkState, Ticket

YELLOW_AFTER = 5 * 60  # the console's traffic light: seconds past the appointment time
RED_AFTER = 15 * 60
CONSOLE_ROWS = 100  # the console lists the first rows; the total tells how many wait


class Standing(NamedTuple):
    """A waiting citizen's place (1-based) and estimated wait in their skill's queue.

    A named tuple, not a frozen dataclass: the push loop makes one per waiting citizen
    on every change, and a tuple is several times cheaper to build."""

    position: int
    estimate_minutes: int | None  # None while no clerk with the skill is on duty
    clerks_online: int


def _standing(ahead: int, minutes_ahead: int, clerks: int) -> Standing:
    """Everyone ahead is served by the clerks on duty in parallel, each in the
    service's time."""
    estimate = math.ceil(minutes_ahead / clerks) if clerks else None
    return Standing(ahead + 1, estimate, clerks)


PERSONAL = "@"  # a queue of one clerk: never a town's skill (those are slugs)


def personal_queue(clerk_id: int) -> str:
    """The queue of citizens handed to one clerk by name: she alone serves it, as if
    it were a skill only she has."""
    return f"{PERSONAL}{clerk_id}"


def on_duty(clerks: Iterable[ClerkPresence]) -> Counter[str]:
    """Clerks on duty per skill: all but those who are away."""
    online: Counter[str] = Counter()
    for presence in clerks:
        if presence.state != ClerkState.AWAY:
            online.update(presence.skills)
    return online


def standing_of(ticket: Ticket, waiting: Iterable[Ticket], online: Counter[str]) -> Standing:
    """One ticket's standing among ``waiting`` (in any order)."""
    ahead = [t for t in waiting if t.skill == ticket.skill and t.order() < ticket.order()]
    return _standing(len(ahead), sum(t.duration_minutes for t in ahead), online[ticket.skill])


def standing_behind(ahead: Ahead, clerks: int) -> Standing:
    """The standing of a ticket with ``ahead`` before it, ``clerks`` on duty for it."""
    return _standing(ahead.tickets, ahead.minutes, clerks)


Tally = dict[str, tuple[int, int]]  # per skill: tickets and their minutes so far


def standings(
    waiting: Sequence[Ticket], online: Counter[str], tally: Tally | None = None
) -> dict[str, Standing]:
    """Every waiting ticket's standing, by appointment, in one pass; ``waiting`` is in
    queue order (as the store lists it). Plain dicts, not Counters: this runs for every
    waiting citizen on every change of the queue.

    ``tally`` is where the pass starts and what it leaves: given the tally of a pass
    over the tickets before ``waiting``, the standings are those in the whole queue."""
    ahead = {} if tally is None else tally
    clerks = dict(online)
    found: dict[str, Standing] = {}
    for ticket in waiting:
        skill = ticket.skill
        count, minutes = ahead.get(skill, (0, 0))
        found[ticket.appointment_id] = _standing(count, minutes, clerks.get(skill, 0))
        ahead[skill] = (count + 1, minutes + ticket.duration_minutes)
    return found


def first_for_skills(
    waiting: Iterable[Ticket], skills: Collection[str], rows: int = CONSOLE_ROWS
) -> list[Ticket]:
    """The first ``rows`` tickets a clerk with these skills can take, in the given
    order, without a pass over the whole queue."""
    first = []
    for ticket in waiting:
        if ticket.skill in skills:
            first.append(ticket)
            if len(first) == rows:
                break
    return first


def count_for_skills(tally: Tally, skills: Collection[str]) -> int:
    """How many wait for these skills, from the tally of a pass over the queue."""
    return sum(tally.get(skill, (0, 0))[0] for skill in skills)


# -- clerks ----------------------------------------------------------------------------


def state_on_connect(known: ClerkState | None, in_call: bool) -> ClerkState:
    """A clerk's state when a socket of hers connects: a call decides while it lasts;
    back from a call that ended meanwhile, she is in her after-call work; otherwise
    she keeps the state she had (available when she was gone)."""
    if in_call:
        return ClerkState.IN_CALL
    if known is None:
        return ClerkState.AVAILABLE
    return ClerkState.AFTER_CALL if known == ClerkState.IN_CALL else known


def state_chosen(chosen: ClerkState, in_call: bool) -> ClerkState:
    """What a clerk's own choice (available, away, after call) makes her state."""
    return ClerkState.IN_CALL if in_call else chosen


def moved_on(presence: ClerkPresence | None, call: Call) -> bool:
    """Whether a clerk who lost her sockets during ``call`` came back elsewhere and
    has left the call behind (another node's presence, newer than the call, not in
    it). Then her grace period ends without sending the citizen back."""
    return (
        presence is not None
        and presence.since > call.started_at
        and presence.state != ClerkState.IN_CALL
    )
