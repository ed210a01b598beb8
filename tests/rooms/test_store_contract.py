"""The RoomStore contract: every test runs on MemoryStore and on a real Redis.

Each Redis test works under a key prefix of its own and deletes its keys afterwards.
When Redis cannot be reached the Redis tests fail in CI and are skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from uuid import uuid4

import pytest

import rooms.redis_store
from rooms.errors import ClerkBusy, NotWaiting, QueueEmpty, SkillMissing
from rooms.memory import MemoryStore
from rooms.redis_store import RedisStore
from rooms.state import Ahead, Call, ClerkPresence, ClerkState, Handover, Ticket
from rooms.store import RoomStore
from tests.helpers.services import delete_prefix, redis_client

T0 = 1_700_000_000.0  # a check-in time; appointments are booked for T0 + hours
HOUR = 3600.0
MELDE = "meldewesen"
KFZ = "kfz"
BERATUNG = "beratung"


def ticket(
    appointment_id: str,
    *,
    skill: str = MELDE,
    at: float = T0 + HOUR,
    checked_in: float = T0,
    front: bool = False,
) -> Ticket:
    return Ticket(
        appointment_id=appointment_id,
        service_id=f"svc-{skill}",
        skill=skill,
        duration_minutes=15,
        appointment_at=at,
        checked_in_at=checked_in,
        front=front,
    )


def presence(
    clerk_id: int, *skills: str, state: ClerkState = ClerkState.AVAILABLE
) -> ClerkPresence:
    return ClerkPresence(clerk_id, f"Clerk {clerk_id}", frozenset(skills), state, T0 + clerk_id)


def ids(tickets: list[Ticket]) -> list[str]:
    return [t.appointment_id for t in tickets]


# -- backends ---------------------------------------------------------------------------


@asynccontextmanager
async def _fresh_redis_store() -> AsyncIterator[RedisStore]:
    client = await redis_client(0)
    store = RedisStore(client, f"bbtest:{uuid4().hex}")
    try:
        yield store
    finally:
        await delete_prefix(client, store.prefix)
        await store.close()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RoomStore]:
    if request.param == "memory":
        memory = MemoryStore()
        yield memory
        await memory.close()
    else:
        async with _fresh_redis_store() as redis_store:
            yield redis_store


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    async with _fresh_redis_store() as redis_store:
        yield redis_store


@pytest.fixture
async def peer(store: RoomStore) -> AsyncIterator[RoomStore]:
    """A second app node on the same live state (for memory: the same process)."""
    if not isinstance(store, RedisStore):
        yield store
        return
    other = RedisStore(await redis_client(0), store.prefix)
    yield other
    await other.close()


async def lose_state(store: RoomStore) -> None:
    """What a Redis restart or FLUSHDB does to the store's keys."""
    if isinstance(store, MemoryStore):
        store.flush()
    elif isinstance(store, RedisStore):
        await delete_prefix(store.redis, store.prefix)
    else:  # pragma: no cover
        raise TypeError(type(store))


# -- waiting room -----------------------------------------------------------------------


async def test_queue_order_front_then_appointment_then_check_in(store: RoomStore) -> None:
    await store.check_in(ticket("late-appt", at=T0 + 3 * HOUR, checked_in=T0 + 1))
    await store.check_in(ticket("early-appt-late-in", at=T0 + HOUR, checked_in=T0 + 30.5))
    await store.check_in(ticket("early-appt-early-in", at=T0 + HOUR, checked_in=T0 + 20.25))
    await store.check_in(ticket("front-late", at=T0 + 5 * HOUR, checked_in=T0 + 40, front=True))
    await store.check_in(ticket("front-early", at=T0 + 4 * HOUR, checked_in=T0 + 50, front=True))

    expected = [
        "front-early",
        "front-late",
        "early-appt-early-in",
        "early-appt-late-in",
        "late-appt",
    ]
    assert ids(await store.waiting()) == expected
    assert ids(await store.waiting([MELDE])) == expected


async def test_waiting_filters_by_skill(store: RoomStore) -> None:
    await store.check_in(ticket("m1", skill=MELDE, at=T0 + 2 * HOUR))
    await store.check_in(ticket("k1", skill=KFZ, at=T0 + HOUR))
    await store.check_in(ticket("b1", skill=BERATUNG, at=T0 + 3 * HOUR))
    await store.check_in(ticket("m2", skill=MELDE, at=T0 + 4 * HOUR))

    assert ids(await store.waiting([MELDE])) == ["m1", "m2"]
    assert ids(await store.waiting({KFZ})) == ["k1"]
    assert ids(await store.waiting([MELDE, BERATUNG])) == ["m1", "b1", "m2"]
    assert ids(await store.waiting(["unknown"])) == []
    assert await store.waiting([]) == []
    assert ids(await store.waiting()) == ["k1", "m1", "b1", "m2"]
    waiting_k1 = await store.waiting_ticket("k1")
    assert waiting_k1 == ticket("k1", skill=KFZ, at=T0 + HOUR)
    assert await store.waiting_ticket("nobody") is None


async def test_waiting_lists_each_ticket_once_for_a_repeated_skill(store: RoomStore) -> None:
    await store.check_in(ticket("m1"))

    assert ids(await store.waiting([MELDE, MELDE])) == ["m1"]


async def test_ahead_counts_the_tickets_and_minutes_before_one_in_its_skill(
    store: RoomStore,
) -> None:
    await store.check_in(replace(ticket("m1", at=T0 + HOUR), duration_minutes=10))
    await store.check_in(replace(ticket("m2", at=T0 + 2 * HOUR), duration_minutes=25))
    await store.check_in(ticket("k1", skill=KFZ, at=T0))  # earlier, but another queue
    await store.check_in(ticket("m3", at=T0 + 3 * HOUR))
    await store.check_in(ticket("front", at=T0 + 9 * HOUR, front=True))

    assert await store.ahead("front") == Ahead(0, 0)
    assert await store.ahead("m1") == Ahead(1, 15)
    assert await store.ahead("m3") == Ahead(3, 15 + 10 + 25)
    assert await store.ahead("k1") == Ahead(0, 0)
    await store.leave("m2")
    assert await store.ahead("m3") == Ahead(2, 25)
    await store.claim_next(7, [MELDE], "call-1", T0 + 5)  # takes the returned citizen
    assert await store.ahead("m3") == Ahead(1, 10)
    assert await store.ahead("front") is None  # in a call now
    assert await store.ahead("m2") is None
    assert await store.ahead("nobody") is None


async def test_ahead_agrees_with_the_listed_queue(store: RoomStore) -> None:
    """Over a queue of many comings and goings, what ``ahead`` answers for each ticket
    is what counting the listed queue gives."""
    rng = random.Random(12)
    names = [f"a{n:03d}" for n in range(120)]
    for name in names:
        skill = rng.choice([MELDE, KFZ])
        made = ticket(name, skill=skill, at=T0 + rng.randrange(40) * 60, front=rng.random() < 0.1)
        await store.check_in(replace(made, duration_minutes=rng.choice([5, 10, 30])))
    for name in rng.sample(names, 30):
        await store.leave(name)
    waiting = await store.waiting()
    for ticket_ in waiting:
        before = [t for t in waiting[: waiting.index(ticket_)] if t.skill == ticket_.skill]
        expected = Ahead(len(before), sum(t.duration_minutes for t in before))
        assert await store.ahead(ticket_.appointment_id) == expected


async def test_check_in_is_idempotent_and_a_reconnect_keeps_the_place(store: RoomStore) -> None:
    first = ticket("a", at=T0 + HOUR, checked_in=T0 + 10)
    assert await store.check_in(first) == first
    await store.check_in(ticket("b", at=T0 + HOUR, checked_in=T0 + 20))

    assert await store.check_in(first) == first
    reconnect = replace(first, checked_in_at=T0 + 60)
    assert await store.check_in(reconnect) == first

    assert ids(await store.waiting()) == ["a", "b"]
    assert await store.waiting_ticket("a") == first


async def test_check_in_during_a_call_returns_the_calls_ticket(store: RoomStore) -> None:
    original = ticket("a", checked_in=T0 + 10)
    await store.check_in(original)
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 100)

    again = await store.check_in(replace(original, checked_in_at=T0 + 200))

    assert again == call.ticket == original
    assert await store.waiting() == []
    assert await store.waiting_ticket("a") is None
    assert await store.call_of_appointment("a") == call


async def test_leave(store: RoomStore) -> None:
    await store.check_in(ticket("a"))
    await store.check_in(ticket("b", checked_in=T0 + 1))

    assert await store.leave("a") is True
    assert await store.leave("a") is False
    assert await store.leave("never-came") is False
    assert ids(await store.waiting()) == ["b"]
    assert await store.waiting_ticket("a") is None
    # The one who left can no longer be called; the next one is b.
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 5)
    assert call.appointment_id == "b"


# -- claiming ---------------------------------------------------------------------------


async def test_claim_next_takes_the_earliest_across_the_clerks_skills(store: RoomStore) -> None:
    await store.check_in(ticket("beratung-first", skill=BERATUNG, at=T0 + HOUR))
    await store.check_in(ticket("melde", skill=MELDE, at=T0 + 3 * HOUR))
    await store.check_in(ticket("kfz", skill=KFZ, at=T0 + 2 * HOUR))

    first = await store.claim_next(7, [MELDE, KFZ], "call-1", T0 + 100.5)

    assert first == Call("call-1", "kfz", 7, ticket("kfz", skill=KFZ, at=T0 + 2 * HOUR), T0 + 100.5)
    assert await store.call("call-1") == first
    assert await store.call_of_clerk(7) == first
    assert await store.call_of_appointment("kfz") == first
    assert await store.calls() == [first]
    assert ids(await store.waiting()) == ["beratung-first", "melde"]

    await store.end_call("call-1")
    second = await store.claim_next(7, {KFZ, MELDE}, "call-2", T0 + 200)
    assert second.appointment_id == "melde"
    await store.end_call("call-2")
    # Only beratung waits now, which this clerk cannot serve.
    with pytest.raises(QueueEmpty):
        await store.claim_next(7, [MELDE, KFZ], "call-3", T0 + 300)
    assert ids(await store.waiting()) == ["beratung-first"]


async def test_claim_next_prefers_a_returned_citizen_in_another_skill(store: RoomStore) -> None:
    await store.check_in(ticket("melde", skill=MELDE, at=T0 + HOUR))
    await store.check_in(ticket("kfz", skill=KFZ, at=T0 + 5 * HOUR))
    dropped = await store.claim_next(1, [KFZ], "call-1", T0 + 10)
    await store.requeue(dropped.call_id)

    call = await store.claim_next(2, [MELDE, KFZ], "call-2", T0 + 20)

    assert call.appointment_id == "kfz"
    assert call.ticket.front is False


async def test_claim_next_on_an_empty_queue(store: RoomStore) -> None:
    with pytest.raises(QueueEmpty):
        await store.claim_next(1, [MELDE], "call-1", T0)
    with pytest.raises(QueueEmpty):
        await store.claim_next(1, [], "call-1", T0)

    assert await store.calls() == []
    assert await store.call_of_clerk(1) is None
    # The clerk is not marked busy by the failed attempt.
    await store.check_in(ticket("a"))
    assert (await store.claim_next(1, [MELDE], "call-2", T0 + 1)).appointment_id == "a"


async def test_a_clerk_in_a_call_is_busy(store: RoomStore) -> None:
    await store.check_in(ticket("a", checked_in=T0))
    await store.check_in(ticket("b", checked_in=T0 + 1))
    await store.claim_next(1, [MELDE], "call-1", T0 + 10)

    with pytest.raises(ClerkBusy):
        await store.claim_next(1, [MELDE], "call-2", T0 + 11)
    with pytest.raises(ClerkBusy):
        await store.claim(1, "b", [MELDE], "call-3", T0 + 12)

    assert ids(await store.waiting()) == ["b"]
    assert [c.call_id for c in await store.calls()] == ["call-1"]
    assert await store.call("call-2") is None
    assert await store.call("call-3") is None


async def test_claim_a_specific_appointment(store: RoomStore) -> None:
    await store.check_in(ticket("first", at=T0 + HOUR))
    await store.check_in(ticket("second", at=T0 + 2 * HOUR))
    await store.check_in(ticket("kfz", skill=KFZ, at=T0 + HOUR))

    call = await store.claim(1, "second", [MELDE], "call-1", T0 + 10)

    assert call == Call("call-1", "second", 1, ticket("second", at=T0 + 2 * HOUR), T0 + 10)
    assert ids(await store.waiting()) == ["first", "kfz"]

    with pytest.raises(NotWaiting):
        await store.claim(2, "second", [MELDE], "call-2", T0 + 11)  # already taken
    with pytest.raises(NotWaiting):
        await store.claim(2, "nobody", [MELDE], "call-2", T0 + 11)
    with pytest.raises(SkillMissing):
        await store.claim(2, "kfz", [MELDE, BERATUNG], "call-2", T0 + 11)

    assert ids(await store.waiting()) == ["first", "kfz"]
    assert await store.call_of_clerk(2) is None
    assert await store.calls() == [call]


# -- concurrency ------------------------------------------------------------------------


async def test_two_clerks_claiming_at_once_get_different_citizens(
    store: RoomStore, peer: RoomStore
) -> None:
    for round_ in range(10):
        await store.check_in(ticket(f"a{round_}", checked_in=T0 + round_))
        await store.check_in(ticket(f"b{round_}", checked_in=T0 + round_ + 0.5))

        one, two = await asyncio.gather(
            store.claim_next(1, [MELDE], f"r{round_}-1", T0 + 100),
            peer.claim_next(2, [MELDE], f"r{round_}-2", T0 + 100),
        )

        assert {one.appointment_id, two.appointment_id} == {f"a{round_}", f"b{round_}"}
        assert await store.waiting() == []
        assert await store.end_call(one.call_id) == one
        assert await peer.end_call(two.call_id) == two


async def test_two_clerks_claiming_one_citizen_at_once(store: RoomStore, peer: RoomStore) -> None:
    for round_ in range(10):
        await store.check_in(ticket(f"a{round_}"))

        results = await asyncio.gather(
            store.claim_next(1, [MELDE], f"r{round_}-1", T0 + 100),
            peer.claim_next(2, [MELDE], f"r{round_}-2", T0 + 100),
            return_exceptions=True,
        )

        calls = [r for r in results if isinstance(r, Call)]
        losers = [r for r in results if not isinstance(r, Call)]
        assert [c.appointment_id for c in calls] == [f"a{round_}"]
        assert len(losers) == 1
        assert isinstance(losers[0], QueueEmpty)
        assert await store.calls() == calls
        assert await store.end_call(calls[0].call_id) == calls[0]


async def test_two_clerks_claiming_the_same_appointment_at_once(
    store: RoomStore, peer: RoomStore
) -> None:
    await store.check_in(ticket("a"))

    results = await asyncio.gather(
        store.claim(1, "a", [MELDE], "call-1", T0 + 100),
        peer.claim(2, "a", [MELDE], "call-2", T0 + 100),
        return_exceptions=True,
    )

    calls = [r for r in results if isinstance(r, Call)]
    assert len(calls) == 1
    assert [type(r) for r in results if not isinstance(r, Call)] == [NotWaiting]
    assert await store.calls() == calls
    assert await store.call_of_appointment("a") == calls[0]


async def test_twenty_clerks_against_five_citizens(store: RoomStore, peer: RoomStore) -> None:
    for n in range(5):
        await store.check_in(ticket(f"citizen-{n}", checked_in=T0 + n))

    results = await asyncio.gather(
        *(
            (store if clerk % 2 else peer).claim_next(clerk, [MELDE], f"call-{clerk}", T0 + 50)
            for clerk in range(1, 21)
        ),
        return_exceptions=True,
    )

    calls = [r for r in results if isinstance(r, Call)]
    losers = [r for r in results if not isinstance(r, Call)]
    assert sorted(c.appointment_id for c in calls) == [f"citizen-{n}" for n in range(5)]
    assert len({c.clerk_id for c in calls}) == 5
    assert len(losers) == 15
    assert all(isinstance(r, QueueEmpty) for r in losers), losers
    assert await store.waiting() == []
    assert sorted(c.call_id for c in await store.calls()) == sorted(c.call_id for c in calls)
    for call in calls:
        assert await store.call_of_clerk(call.clerk_id) == call
        assert await store.call_of_appointment(call.appointment_id) == call


async def test_each_member_of_a_call_finds_the_other(store: RoomStore, peer: RoomStore) -> None:
    await store.check_in(ticket("a"))
    await store.check_in(ticket("b"))
    await store.claim(7, "b", [MELDE], "call-1", T0 + 10)

    for either in (store, peer):
        assert await either.clerk_serving("b") == 7
        assert await either.appointment_served_by(7) == "b"
        assert await either.clerk_serving("a") is None  # waiting, in no call
        assert await either.appointment_served_by(8) is None
    await store.requeue("call-1")
    assert await peer.clerk_serving("b") is None
    assert await peer.appointment_served_by(7) is None


# -- ending and requeueing --------------------------------------------------------------


async def test_end_call_returns_the_call_once(store: RoomStore) -> None:
    await store.check_in(ticket("a"))
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 10)

    assert await store.end_call("call-1") == call
    assert await store.end_call("call-1") is None
    assert await store.end_call("no-such-call") is None

    assert await store.call("call-1") is None
    assert await store.call_of_clerk(1) is None
    assert await store.call_of_appointment("a") is None
    assert await store.calls() == []
    assert await store.waiting() == []
    # The clerk is free again.
    await store.check_in(ticket("b"))
    assert (await store.claim_next(1, [MELDE], "call-2", T0 + 20)).appointment_id == "b"


async def test_end_call_concurrently_only_one_caller_wins(
    store: RoomStore, peer: RoomStore
) -> None:
    await store.check_in(ticket("a"))
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 10)

    results = await asyncio.gather(
        *((store if n % 2 else peer).end_call("call-1") for n in range(10))
    )

    assert [r for r in results if r is not None] == [call]
    assert results.count(None) == 9
    assert await store.calls() == []


async def test_requeue_puts_the_citizen_first_and_closes_the_call(store: RoomStore) -> None:
    await store.check_in(ticket("dropped", at=T0 + 3 * HOUR, checked_in=T0 + 30))
    call = await store.claim(1, "dropped", [MELDE], "call-1", T0 + 40)
    await store.check_in(ticket("earlier-appt", at=T0 + HOUR, checked_in=T0 + 50))
    await store.check_in(ticket("earliest-appt", at=T0 + 0.5 * HOUR, checked_in=T0 + 60))

    back = await store.requeue(call.call_id)

    assert back == replace(call.ticket, front=True)
    assert back is not None and back.checked_in_at == T0 + 30
    assert ids(await store.waiting()) == ["dropped", "earliest-appt", "earlier-appt"]
    assert await store.waiting_ticket("dropped") == back
    assert await store.call("call-1") is None
    assert await store.call_of_appointment("dropped") is None
    assert await store.call_of_clerk(1) is None
    assert await store.calls() == []
    assert await store.requeue(call.call_id) is None
    assert ids(await store.waiting()) == ["dropped", "earliest-appt", "earlier-appt"]

    # Any clerk takes the returned citizen next; the call's ticket is no longer "front".
    again = await store.claim_next(2, [MELDE], "call-2", T0 + 70)
    assert again.appointment_id == "dropped"
    assert again.ticket == call.ticket
    assert ids(await store.waiting()) == ["earliest-appt", "earlier-appt"]


async def test_a_transfer_puts_the_citizen_first_in_the_other_skill_with_the_note(
    store: RoomStore,
) -> None:
    await store.check_in(ticket("moved", at=T0 + 3 * HOUR, checked_in=T0 + 30))
    call = await store.claim(1, "moved", [MELDE], "call-1", T0 + 40)
    await store.check_in(ticket("advice", at=T0 + HOUR, checked_in=T0 + 50, skill=BERATUNG))
    note = Handover("Fragt nach der Ummeldung ihrer Tochter.", "Anna A.")

    back = await store.requeue(call.call_id, skill=BERATUNG, handover=note)

    assert back == replace(call.ticket, front=True, skill=BERATUNG, handover=note)
    assert await store.waiting_ticket("moved") == back
    assert ids(await store.waiting([MELDE])) == []
    assert ids(await store.waiting([BERATUNG])) == ["moved", "advice"]
    ahead = await store.ahead("advice")
    assert ahead is not None and ahead.tickets == 1
    with pytest.raises(QueueEmpty):
        await store.claim_next(2, [MELDE], "call-2", T0 + 60)

    taken = await store.claim_next(3, [BERATUNG], "call-3", T0 + 70)
    assert taken.appointment_id == "moved" and taken.ticket.handover == note
    assert taken.ticket.skill == BERATUNG and not taken.ticket.front


# -- restore after lost state -----------------------------------------------------------


async def test_restore_call_after_the_state_was_lost(store: RoomStore) -> None:
    await store.check_in(ticket("a", checked_in=T0 + 1))
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 10)
    await lose_state(store)
    assert await store.call("call-1") is None
    # The citizen's page reconnects before the clerk's node restores the call.
    await store.check_in(ticket("a", checked_in=T0 + 20))
    await store.check_in(ticket("b", checked_in=T0 + 21))

    restored = await store.restore_call(call)

    assert restored == call
    assert await store.call("call-1") == call
    assert await store.call_of_appointment("a") == call
    assert await store.call_of_clerk(1) == call
    assert await store.calls() == [call]
    assert ids(await store.waiting()) == ["b"]
    assert await store.waiting_ticket("a") is None
    with pytest.raises(ClerkBusy):
        await store.claim_next(1, [MELDE], "call-2", T0 + 30)
    # Nobody else can call "a" again, and b is next for another clerk.
    other = await store.claim_next(2, [MELDE], "call-3", T0 + 30)
    assert other.appointment_id == "b"


async def test_restore_call_keeps_an_existing_call(store: RoomStore) -> None:
    await store.check_in(ticket("a"))
    await store.check_in(ticket("b", checked_in=T0 + 1))
    call = await store.claim_next(1, [MELDE], "call-1", T0 + 10)

    stale = replace(call, started_at=T0 + 999, clerk_id=9)
    assert await store.restore_call(stale) == call

    assert await store.call("call-1") == call
    assert await store.call_of_clerk(9) is None
    assert await store.call_of_clerk(1) == call
    assert await store.calls() == [call]
    assert ids(await store.waiting()) == ["b"]


async def test_requeue_of_a_restored_call_with_sub_millisecond_check_in(
    store: RoomStore,
) -> None:
    # A call restored from a node's memory carries the check-in time it was given.
    precise = ticket("a", checked_in=T0 + 0.12396)
    await store.restore_call(Call("call-1", "a", 1, precise, T0 + 10))
    await store.requeue("call-1")
    again = await store.claim_next(2, [MELDE], "call-2", T0 + 20)
    assert again.appointment_id == "a"
    await store.end_call("call-2")

    assert await store.waiting() == []
    with pytest.raises(QueueEmpty):
        await store.claim_next(3, [MELDE], "call-3", T0 + 30)


# -- presence and epoch -----------------------------------------------------------------


async def test_presence_set_remove_list(store: RoomStore) -> None:
    assert await store.clerks() == []
    anna = presence(2, MELDE, BERATUNG)
    bernd = presence(1, KFZ)
    await store.set_clerk(anna)
    await store.set_clerk(bernd)

    assert await store.clerks() == [bernd, anna]

    away = anna.with_state(ClerkState.AWAY, T0 + 100.5)
    await store.set_clerk(away)
    assert await store.clerks() == [bernd, away]

    await store.remove_clerk(1)
    assert await store.clerks() == [away]
    await store.remove_clerk(1)  # removing twice is harmless
    await store.remove_clerk(42)
    assert await store.clerks() == [away]


async def test_epoch_is_stable_while_the_state_lives(store: RoomStore, peer: RoomStore) -> None:
    first = await store.epoch()
    assert first
    await store.check_in(ticket("a"))
    await store.claim_next(1, [MELDE], "call-1", T0)
    await store.set_clerk(presence(1, MELDE))
    assert await store.epoch() == first
    assert await peer.epoch() == first

    await lose_state(store)

    second = await store.epoch()
    assert second != first
    assert await store.epoch() == second
    assert await peer.epoch() == second
    assert await store.calls() == []
    assert await store.clerks() == []
    assert await store.waiting() == []


# -- Redis only -------------------------------------------------------------------------


async def test_redis_presence_expires(
    redis_store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rooms.redis_store, "PRESENCE_TTL", 1)
    await redis_store.set_clerk(presence(1, MELDE))
    assert [p.clerk_id for p in await redis_store.clerks()] == [1]

    await asyncio.sleep(1.5)

    assert await redis_store.clerks() == []
    assert await redis_store.redis.scard(f"{redis_store.prefix}:clerks") == 0


SUB_MS = [T0 + 0.12396, T0 + 0.0005, T0 + 0.9999, T0 + 0.1234567, T0 + 123.45678]


@pytest.mark.parametrize("checked_in", SUB_MS)
async def test_redis_sub_millisecond_check_in_leaves_no_orphan(
    redis_store: RedisStore, checked_in: float
) -> None:
    queue = f"{redis_store.prefix}:q:{MELDE}"

    await redis_store.check_in(ticket("next", checked_in=checked_in))
    first = await redis_store.claim_next(1, [MELDE], "call-1", T0 + 10)
    assert first.appointment_id == "next"
    assert await redis_store.redis.zcard(queue) == 0

    await redis_store.requeue("call-1")
    assert await redis_store.redis.zcard(queue) == 1
    again = await redis_store.claim_next(1, [MELDE], "call-2", T0 + 20)
    assert again.appointment_id == "next"
    assert await redis_store.redis.zcard(queue) == 0

    await redis_store.check_in(ticket("specific", checked_in=checked_in))
    await redis_store.claim(2, "specific", [MELDE], "call-3", T0 + 30)
    assert await redis_store.redis.zcard(queue) == 0

    await redis_store.check_in(ticket("leaver", checked_in=checked_in))
    assert await redis_store.leave("leaver") is True
    assert await redis_store.redis.zcard(queue) == 0
    assert await redis_store.waiting() == []
    with pytest.raises(QueueEmpty):
        await redis_store.claim_next(3, [MELDE], "call-4", T0 + 40)


@pytest.mark.parametrize("checked_in", SUB_MS)
async def test_redis_restored_sub_millisecond_call_leaves_no_orphan(
    redis_store: RedisStore, checked_in: float
) -> None:
    queue = f"{redis_store.prefix}:q:{MELDE}"
    precise = ticket("a", checked_in=checked_in)
    await redis_store.restore_call(Call("call-1", "a", 1, precise, T0 + 10))

    await redis_store.requeue("call-1")
    assert await redis_store.leave("a") is True

    assert await redis_store.redis.zcard(queue) == 0


async def test_redis_state_is_shared_with_a_new_store_instance(redis_store: RedisStore) -> None:
    await redis_store.check_in(ticket("a", checked_in=T0 + 1))
    await redis_store.check_in(ticket("b", checked_in=T0 + 2))
    await redis_store.check_in(ticket("k", skill=KFZ, checked_in=T0 + 3))
    call = await redis_store.claim_next(1, [MELDE], "call-1", T0 + 10)
    anna = presence(1, MELDE)
    await redis_store.set_clerk(anna)
    epoch = await redis_store.epoch()

    second = RedisStore(await redis_client(0), redis_store.prefix)
    try:
        assert ids(await second.waiting()) == ["b", "k"]
        assert ids(await second.waiting([KFZ])) == ["k"]
        assert await second.waiting_ticket("b") == ticket("b", checked_in=T0 + 2)
        assert await second.call("call-1") == call
        assert await second.call_of_appointment("a") == call
        assert await second.call_of_clerk(1) == call
        assert await second.calls() == [call]
        assert await second.clerks() == [anna]
        assert await second.epoch() == epoch
        with pytest.raises(ClerkBusy):
            await second.claim_next(1, [MELDE], "call-2", T0 + 20)

        # The second node ends the call the first node opened.
        assert await second.end_call("call-1") == call
        assert await redis_store.call("call-1") is None
        assert await redis_store.end_call("call-1") is None
        nxt = await second.claim_next(2, [MELDE], "call-3", T0 + 30)
        assert await redis_store.call_of_clerk(2) == nxt
    finally:
        await second.close()
