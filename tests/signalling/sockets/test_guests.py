"""An interpreter or companion in a call, over real Socket.IO clients and the real
pages: a one-time link, a third member reached only by addressed relays, nothing of
the check or the cases, out when the call ends or the clerk removes them, and every
step in the audit log. On SQLite and PostgreSQL, memory and Redis."""

from __future__ import annotations

import asyncio
import email
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from socketio.exceptions import ConnectionError as SocketRefused
from sqlalchemy import select

from office.appointments import Appointments
from office.models import AuditEntry, OutboxMail
from office.staff import Staff
from tests.helpers.booking import book_at
from tests.helpers.clock import Clock
from tests.helpers.constants import CANDIDATE, OFFER, SLOT, at
from tests.helpers.pages import csrf_of
from tests.helpers.peers import Peer, citizen_peer, clerk_peer, disconnect_all, joined, new_peer

pytestmark = pytest.mark.parametrize("backend", ["memory", "redis"])


class _AnyName(str):
    """Equal to any short non-empty name (a guest page's, chosen by the server)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and 0 < len(other) <= 16

    __hash__ = str.__hash__


ANY_NAME = _AnyName()


async def spend(client: TestClient[Any, Any], link: str) -> tuple[int, str]:
    """Open the link as a browser would and press its button: the response's status
    and the session cookie it set ("" if none)."""
    path = urlsplit(link).path
    page = await client.get(path)
    if page.status != 200:
        return page.status, ""
    joined_page = await client.post(
        path, data={"csrf": csrf_of(await page.text())}, allow_redirects=False
    )
    morsel = joined_page.cookies.get("bb_gast")
    return joined_page.status, morsel.value if morsel else ""


async def guest_peer(base: str, session: str) -> Peer:
    guest = new_peer("/guest")
    await guest.connect(base, f"bb_gast={session}")
    return guest


InCall = tuple[Peer, Peer, dict[str, Any]]  # the citizen, the clerk, her call


@pytest.fixture
async def in_call(base: str, desk: Appointments, staff: Staff, clerk: int, clock: Clock) -> InCall:
    """The clerk in a call with the citizen of 10:30."""
    appointment = await book_at(desk, SLOT)
    clock.set(at(10, 28))
    citizen = await citizen_peer(base, desk, appointment)
    await joined(citizen)
    anna = await clerk_peer(base, staff, clerk)
    taken = await anna.call("queue_next")
    assert taken["ok"] is True
    await citizen.next("call_assigned")
    return citizen, anna, taken["data"]


async def audit_actions(desk: Appointments) -> list[tuple[str, str, dict[str, Any]]]:
    async with desk.office.sessions() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [
            (row.action, row.actor, row.detail) for row in rows if row.action.startswith("guest.")
        ]


async def test_a_guest_joins_by_link_and_reaches_each_member_by_name(
    base: str, client: TestClient[Any, Any], desk: Appointments, clerk: int, in_call: InCall
) -> None:
    citizen, anna, call = in_call
    invited = await anna.call("guest_invite", {"kind": "interpreter"})
    assert invited["ok"] is True, invited
    link = invited["data"]["link"]
    assert link.startswith("https://termine.test/gast/") and invited["data"]["mailed"] is False

    # Opening the link spends nothing (a mail scanner may fetch it); the button does.
    assert (await client.get(urlsplit(link).path)).status == 200
    status, session = await spend(client, link)
    assert status == 303 and session
    assert (await spend(client, link))[0] == 404  # once only

    guest = await guest_peer(base, session)
    admitted = await guest.next("guest_admitted")
    assert admitted["call_id"] == call["call_id"] and admitted["polite"] is True
    assert admitted["kind"] == "interpreter"
    assert [s["urls"] for s in admitted["ice_servers"]] == [s["urls"] for s in call["ice_servers"]]
    arrived = await citizen.next("peer_joined")
    assert arrived == {"role": "guest", "kind": "interpreter", "connection": ANY_NAME}
    assert await anna.next("peer_joined") == arrived
    page = {"from": "guest", "connection": arrived["connection"]}

    # Addressed relays: each message reaches the member it names, saying who sent it.
    assert (await guest.call("rtc_description", {**OFFER, "to": "clerk"}))["ok"] is True
    assert await anna.next("rtc_description") == {**OFFER, **page}
    assert (await guest.call("rtc_candidate", {**CANDIDATE, "to": "citizen"}))["ok"] is True
    assert await citizen.next("rtc_candidate") == {**CANDIDATE, **page}
    muted = {"microphone": False, "camera": True}
    assert (await citizen.call("media_state", {**muted, "to": "guest"}))["ok"] is True
    assert await guest.next("media_state") == {**muted, "from": "citizen"}
    assert (await anna.call("rtc_description", {**OFFER, "to": "guest"}))["ok"] is True
    assert await guest.next("rtc_description") == {**OFFER, "from": "clerk"}
    # Without "to", citizen and clerk still reach each other, and only each other.
    assert (await citizen.call("rtc_candidate", CANDIDATE))["ok"] is True
    assert await anna.next("rtc_candidate") == {**CANDIDATE, "from": "citizen"}
    await asyncio.sleep(0.3)
    assert len(guest.events["rtc_candidate"]) == 0
    assert len(citizen.events["rtc_description"]) == 0

    # A guest must name the member, and never itself; nothing else is theirs to send.
    for payload in (OFFER, {**OFFER, "to": "guest"}, {**OFFER, "to": "dolmetscher"}):
        ack = await guest.call("rtc_description", payload)
        assert ack["error"]["code"] == "invalid_payload", payload
    for event, payload in (
        ("chat_send", {"text": "Hallo"}),
        ("chat_history", {}),
        ("verification_current", {}),
        ("verification_start", {"document": "passport"}),
        ("capture_still", {"kind": "front"}),
        ("capture_offer", {"sdp": "v=0"}),
        ("case_open", {}),
        ("guest_invite", {"kind": "companion"}),
        ("queue_join", {}),
    ):
        ack = await guest.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)

    # One guest at a time.
    again = await anna.call("guest_invite", {"kind": "companion"})
    assert again["error"]["code"] == "guest_limit"

    # The call ends: the guest hears it first, then is out, and cannot come back.
    assert (await anna.call("call_end"))["ok"] is True
    assert await guest.next("call_ended") == {"reason": "call_over"}
    ack = await guest.call("rtc_candidate", {**CANDIDATE, "to": "clerk"})
    assert ack["error"]["code"] == "not_in_call"
    with pytest.raises(SocketRefused):
        await guest_peer(base, session)
    assert (await client.get("/gast", headers={"Cookie": f"bb_gast={session}"})).status == 404

    actions = await audit_actions(desk)
    assert [action for action, _actor, _detail in actions] == ["guest.invited", "guest.joined"]
    assert actions[0][1] == f"clerk:{clerk}" and actions[0][2]["kind"] == "interpreter"
    assert actions[1][1].startswith("guest:")
    await disconnect_all(citizen, anna, guest)


async def test_the_clerk_removes_the_guest_and_their_session_ends(
    base: str, client: TestClient[Any, Any], desk: Appointments, in_call: InCall
) -> None:
    citizen, anna, _call = in_call
    invited = await anna.call(
        "guest_invite", {"kind": "companion", "email": "Begleitung@Example.org"}
    )
    assert invited["ok"] is True and invited["data"]["mailed"] is True
    async with desk.office.sessions() as session:
        mail = await session.scalar(select(OutboxMail).where(OutboxMail.kind == "guest_invitation"))
    assert mail is not None and mail.message is not None
    message = email.message_from_string(mail.message, _class=EmailMessage, policy=default)
    assert message["To"] == "Begleitung@example.org"
    body = message.get_content()
    assert urlsplit(invited["data"]["link"]).path in body and "-- English --" in body
    _status, session_token = await spend(client, invited["data"]["link"])
    guest = await guest_peer(base, session_token)
    await guest.next("guest_admitted")
    await anna.next("peer_joined")

    removed = await anna.call("guest_remove")
    assert removed == {"ok": True, "data": {"removed": 1}}
    assert await guest.next("call_ended") == {"reason": "guest_removed"}
    assert await citizen.next("peer_left") == {"role": "guest"}
    ack = await guest.call("rtc_description", {**OFFER, "to": "citizen"})
    assert ack["error"]["code"] == "not_in_call"
    with pytest.raises(SocketRefused):
        await guest_peer(base, session_token)
    page = await client.get("/gast", headers={"Cookie": f"bb_gast={session_token}"})
    assert page.status == 404

    # The seat is free again; the audit log names no address.
    assert (await anna.call("guest_invite", {"kind": "interpreter"}))["ok"] is True
    actions = await audit_actions(desk)
    assert [a for a, _, _ in actions] == [
        "guest.invited",
        "guest.joined",
        "guest.removed",
        "guest.invited",
    ]
    assert "example.org" not in repr(actions).lower()
    await disconnect_all(citizen, anna, guest)


async def test_links_outside_their_call_or_time_are_refused(
    base: str, client: TestClient[Any, Any], clock: Clock, in_call: InCall
) -> None:
    citizen, anna, _call = in_call
    assert (await anna.call("guest_invite", {"kind": "nachbar"}))["error"]["code"] == (
        "invalid_payload"
    )
    bad_mail = await anna.call("guest_invite", {"kind": "interpreter", "email": "kein-at"})
    assert bad_mail["error"]["code"] == "invalid_input"
    assert (await citizen.call("guest_invite", {"kind": "interpreter"}))["error"]["code"] == (
        "forbidden"
    )

    late = (await anna.call("guest_invite", {"kind": "interpreter"}))["data"]["link"]
    clock.advance(minutes=31)  # the link holds 30 minutes
    assert (await spend(client, late))[0] == 404
    assert (await client.get("/gast/kein-token")).status == 404
    assert (await client.get("/gast")).status == 404  # no session cookie

    # A link made in a call that has ended does not open the next one.
    assert (await anna.call("guest_remove"))["ok"] is True
    stale = (await anna.call("guest_invite", {"kind": "interpreter"}))["data"]["link"]
    _status, session_token = await spend(client, stale)
    assert (await anna.call("call_end"))["ok"] is True
    with pytest.raises(SocketRefused):
        await guest_peer(base, session_token)
    outsider = new_peer("/guest")
    with pytest.raises(SocketRefused):
        await outsider.connect(base, "bb_gast=forged")
    await disconnect_all(citizen, anna)
