"""Staff login over HTTP (password, TOTP enrolment and codes, lockout), the clerk CLI
and the production-mode settings check."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pyotp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from office.db import create_engine, session_factory
from office.errors import AuthFailed, InvalidInput
from office.models import Clerk, ClerkHours
from office.staff import Staff
from signalling.app import create_app
from signalling.cli import main
from signalling.settings import Mode, Settings
from tests.helpers.clock import Clock
from tests.helpers.staff_login import (
    PASSWORD,
    code_at,
    enrol,
    form_token,
    post_code,
    post_login,
    session_cookie,
    wrong_code,
)

T = TypeVar("T")
GENERIC = AuthFailed.message


async def test_first_login_enrols_and_opens_a_strict_session(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    _secret, response = await enrol(client, clock)
    assert response.status == 303
    assert response.headers["Location"] == "/sachbearbeitung"
    cookie = response.cookies["bb_staff"]
    assert cookie.value and cookie["httponly"] is True
    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
    raw = [h for h in response.headers.getall("Set-Cookie") if h.startswith("bb_staff=")]
    assert len(raw) == 1 and "HttpOnly" in raw[0] and "SameSite=Strict" in raw[0]
    home = await client.get("/sachbearbeitung", allow_redirects=False)
    assert home.status == 200
    assert "Anna A." in await home.text()


async def stored_secret(staff: Staff, clerk_id: int) -> str | None:
    async with staff.sessions() as session:
        secret: str | None = await session.scalar(
            select(Clerk.totp_secret).where(Clerk.id == clerk_id)
        )
        return secret


async def set_secret(staff: Staff, clerk_id: int, stored: str) -> None:
    async with staff.sessions() as session, session.begin():
        await session.execute(
            update(Clerk).where(Clerk.id == clerk_id).values(totp_secret=stored, totp_enabled=True)
        )


async def test_the_second_factor_is_sealed_in_the_database_and_bound_to_its_clerk(
    client: TestClient[Any, Any], clerk: int, clock: Clock, staff: Staff
) -> None:
    secret, response = await enrol(client, clock)
    assert response.status == 303
    stored = await stored_secret(staff, clerk)
    assert stored is not None and stored.startswith("s1:") and secret not in stored
    # A database copy alone cannot make codes, nor can the sealed value serve another
    # clerk: copied onto Bernd's row it does not open.
    bernd = await staff.create("bernd", "Bernd", "another long password")
    await set_secret(staff, bernd.id, stored)
    with pytest.raises(AuthFailed, match="neu eingerichtet"):
        await staff.check_code(bernd.id, code_at(secret, clock))


async def test_a_secret_from_before_sealing_still_works_and_is_sealed_by_its_next_login(
    clerk: int, clock: Clock, staff: Staff
) -> None:
    plain = pyotp.random_base32()
    await set_secret(staff, clerk, plain)
    await staff.check_code(clerk, code_at(plain, clock))
    stored = await stored_secret(staff, clerk)
    assert stored is not None and stored.startswith("s1:") and plain not in stored
    clock.advance(seconds=60)
    await staff.check_code(clerk, code_at(plain, clock))  # the sealed one opens


async def test_logout_ends_the_session_for_good(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    _, response = await enrol(client, clock)
    assert response.status == 303
    token = session_cookie(client)
    assert token

    # The cookie set by hand is what identifies the clerk …
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"bb_staff": token})
    assert (await client.get("/sachbearbeitung", allow_redirects=False)).status == 200

    logout = await client.post(
        "/abmelden",
        data={"csrf": await form_token(client, "/sachbearbeitung")},
        allow_redirects=False,
    )
    assert logout.status == 303 and logout.headers["Location"] == "/anmelden"
    deleted = logout.cookies["bb_staff"]
    assert deleted.value == "" and deleted["max-age"] == "0"
    client.session.cookie_jar.clear()  # as the browser does on that reply
    home = await client.get("/sachbearbeitung", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/anmelden"

    # … and after logout the same value opens nothing.
    client.session.cookie_jar.update_cookies({"bb_staff": token})
    replayed = await client.get("/sachbearbeitung", allow_redirects=False)
    assert replayed.status == 303 and replayed.headers["Location"] == "/anmelden"


async def test_second_login_asks_for_a_fresh_code(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    secret, response = await enrol(client, clock)
    assert response.status == 303
    await client.post(
        "/abmelden",
        data={"csrf": await form_token(client, "/sachbearbeitung")},
        allow_redirects=False,
    )

    again = await post_login(client)
    assert again.status == 303 and again.headers["Location"] == "/anmelden/code"
    assert (await client.get("/anmelden/code")).status == 200

    # The code used for the enrolment is spent: a replay is refused.
    replay = await post_code(client, "/anmelden/code", code_at(secret, clock))
    assert replay.status == 401
    assert "Der Code stimmt nicht" in await replay.text()
    assert session_cookie(client) == ""

    wrong = await post_code(client, "/anmelden/code", wrong_code(secret, clock))
    assert wrong.status == 401
    assert session_cookie(client) == ""

    clock.advance(seconds=30)
    fresh = code_at(secret, clock)
    accepted = await post_code(client, "/anmelden/code", fresh)
    assert accepted.status == 303 and accepted.headers["Location"] == "/sachbearbeitung"
    assert (await client.get("/sachbearbeitung", allow_redirects=False)).status == 200

    # Nor can that code be used twice.
    client.session.cookie_jar.clear()
    assert (await post_login(client)).headers["Location"] == "/anmelden/code"
    twice = await post_code(client, "/anmelden/code", fresh)
    assert twice.status == 401
    assert session_cookie(client) == ""


async def test_wrong_enrolment_code_is_refused(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    response = await post_login(client)
    assert response.headers["Location"] == "/anmelden/einrichten"
    html = await (await client.get("/anmelden/einrichten")).text()
    match = re.search(r'<code class="bb-secret">([A-Z2-7]+)</code>', html)
    assert match
    refused = await post_code(client, "/anmelden/einrichten", wrong_code(match.group(1), clock))
    assert refused.status == 401
    assert "Der Code stimmt nicht" in await refused.text()
    assert session_cookie(client) == ""
    home = await client.get("/sachbearbeitung", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/anmelden"


async def test_code_page_without_a_password_goes_back_to_login(
    client: TestClient[Any, Any], clerk: int
) -> None:
    for path in ("/anmelden/code", "/anmelden/einrichten"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/anmelden"


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    for _ in range(5):
        response = await post_login(client, password="wrong password!")
        assert response.status == 401
        assert GENERIC in await response.text()

    # Locked: even the right password is refused, with the answer of a wrong one.
    locked = await post_login(client)
    assert locked.status == 401
    assert GENERIC in await locked.text()

    clock.advance(minutes=14, seconds=59)
    still = await post_login(client)
    assert still.status == 401 and GENERIC in await still.text()

    clock.advance(seconds=1)
    open_again = await post_login(client)
    assert open_again.status == 303
    assert open_again.headers["Location"] == "/anmelden/einrichten"


async def test_a_locked_account_answers_like_an_unknown_name(
    client: TestClient[Any, Any], clerk: int
) -> None:
    """Neither the page nor its status tells a locked account from a name that does
    not exist (which would confirm to a guesser that the account is real)."""
    for _ in range(5):
        assert (await post_login(client, password="wrong password!")).status == 401
    answers = [
        await post_login(client, password="wrong password!"),
        await post_login(client),  # the right password, while locked
        await post_login(client, username="mallory", password="wrong password!"),
        await post_login(client, username="mallory"),
    ]
    assert {answer.status for answer in answers} == {401}
    bodies = {await answer.text() for answer in answers}
    assert len(bodies) == 1
    assert GENERIC in bodies.pop()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


async def test_a_locked_account_takes_as_long_to_refuse_as_an_unknown_name(
    staff: Staff, clerk: int
) -> None:
    """The refusal's timing does not tell them apart either: every attempt checks one
    password hash and writes one audit entry. Samples alternate between the cases, so
    the machine's other load falls on both alike; the bound is far from the 5-50x the
    early return for locked accounts used to show."""
    for _ in range(5):
        with pytest.raises(AuthFailed):
            await staff.check_password("anna", "wrong password!")
    attempts = {
        "locked, wrong password": ("anna", "wrong password!"),
        "locked, right password": ("anna", PASSWORD),
        "unknown name": ("mallory", "wrong password!"),
    }
    samples: dict[str, list[float]] = {case: [] for case in attempts}
    loop = asyncio.get_running_loop()
    for _ in range(9):
        for case, (username, password) in attempts.items():
            started = loop.time()
            with pytest.raises(AuthFailed) as refused:
                await staff.check_password(username, password)
            samples[case].append(loop.time() - started)
            assert refused.value.code == "auth_failed"
    unknown = median(samples["unknown name"])
    for case in ("locked, wrong password", "locked, right password"):
        ratio = median(samples[case]) / unknown
        assert 0.5 < ratio < 2.0, (case, ratio, samples)


async def test_four_wrong_passwords_do_not_lock(
    client: TestClient[Any, Any], clerk: int, clock: Clock
) -> None:
    for _ in range(4):
        assert (await post_login(client, password="wrong password!")).status == 401
    assert (await post_login(client)).status == 303


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
    client: TestClient[Any, Any], clerk: int
) -> None:
    wrong_password = await post_login(client, password="wrong password!")
    unknown_user = await post_login(client, username="mallory", password="wrong password!")
    assert wrong_password.status == unknown_user.status == 401
    first, second = await wrong_password.text(), await unknown_user.text()
    assert GENERIC in first and GENERIC in second
    assert first == second


async def test_passwords_are_checked_whole_and_refused_beyond_128_characters(
    staff: Staff,
) -> None:
    longest = "ä" * 127 + "!"  # any printable character, up to 128 of them
    created = await staff.create("lang", "Lang L.", longest)
    accepted = await staff.check_password("lang", longest)
    assert accepted.clerk_id == created.id
    with pytest.raises(AuthFailed):  # never cut short: a longer one is another password
        await staff.check_password("lang", longest + "x" * 2000)
    with pytest.raises(InvalidInput):
        await staff.create("laenger", "Länger L.", "x" * 129)


async def test_start_page_without_a_session_redirects_to_login(
    client: TestClient[Any, Any], clerk: int
) -> None:
    response = await client.get("/sachbearbeitung", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/anmelden"
    client.session.cookie_jar.update_cookies({"bb_staff": "forged-session-value"})
    forged = await client.get("/sachbearbeitung", allow_redirects=False)
    assert forged.status == 303 and forged.headers["Location"] == "/anmelden"


async def test_login_rate_limit(client: TestClient[Any, Any], clerk: int) -> None:
    statuses = [(await post_login(client, username="nobody")).status for _ in range(21)]
    assert statuses == [401] * 20 + [429]
    # Even the right password is not checked any more from this client.
    assert (await post_login(client)).status == 429


# -- the clerk command -----------------------------------------------------------------


def _cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in ("BB_DATABASE_URL", "BB_SECRET_KEY", "BB_TOWN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BB_MODE", "demo")
    monkeypatch.setenv("BB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", database_url)


def _list_line(capsys: pytest.CaptureFixture[str], username: str) -> str:
    assert main(["clerk", "list"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if f" {username} " in ln]
    assert len(lines) == 1, lines
    return lines[0]


async def _bob(database_url: str) -> tuple[Clerk, list[ClerkHours]]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            bob = await session.scalar(select(Clerk).where(Clerk.username == "bob"))
            assert bob is not None
            hours = (
                await session.scalars(
                    select(ClerkHours)
                    .where(ClerkHours.clerk_id == bob.id)
                    .order_by(ClerkHours.weekday)
                )
            ).all()
    finally:
        await engine.dispose()
    return bob, list(hours)


async def _with_staff(database_url: str, work: Callable[[Staff], Awaitable[T]]) -> T:
    """Run ``work`` with a Staff desk of its own on the database the command used."""
    engine = create_engine(database_url)
    try:
        return await work(Staff(session_factory(engine)))
    finally:
        await engine.dispose()


async def _enrol(staff: Staff) -> None:
    accepted = await staff.check_password("bob", "bobs-long-password")
    assert accepted.needs_enrolment
    uri = await staff.start_enrolment(accepted.clerk_id)
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    await staff.confirm_enrolment(accepted.clerk_id, pyotp.TOTP(secret).now())


def test_clerk_command_add_list_reset(
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, tmp_path, database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("bobs-long-password\n"))
    added = main(
        [
            "clerk",
            "add",
            "bob",
            "--skills",
            "meldewesen",
            "--hours",
            "mon-fri 08:00-16:00",
            "--password-stdin",
        ]
    )
    assert added == 0
    assert re.fullmatch(r"created clerk bob \(id \d+\)\n", capsys.readouterr().out)

    line = _list_line(capsys, "bob")
    assert line.split()[1:] == ["bob", "clerk", "active", "no", "2FA", "meldewesen"]
    bob, hours = asyncio.run(_bob(database_url))
    assert bob.display_name == "bob" and bob.password_hash != "bobs-long-password"
    assert [(h.weekday, h.start.isoformat(), h.end.isoformat()) for h in hours] == [
        (d, "08:00:00", "16:00:00") for d in range(5)
    ]

    asyncio.run(_with_staff(database_url, _enrol))
    assert _list_line(capsys, "bob").split()[4:] == ["2FA", "meldewesen"]

    assert main(["clerk", "reset-2fa", "bob"]) == 0
    assert "second factor of bob reset" in capsys.readouterr().out
    assert _list_line(capsys, "bob").split()[4:] == ["no", "2FA", "meldewesen"]
    bob, _ = asyncio.run(_bob(database_url))
    assert bob.totp_secret is None and not bob.totp_enabled

    assert main(["clerk", "reset-2fa", "nobody"]) != 0
    assert "Kein Konto" in capsys.readouterr().err


async def _open_session_of_bob(staff: Staff) -> str:
    accepted = await staff.check_password("bob", "bobs-long-password")
    return await staff.open_session(accepted.clerk_id)


def test_clerk_command_set_changes_access_and_ends_sessions(
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, tmp_path, database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("bobs-long-password\n"))
    assert main(["clerk", "add", "bob", "--skills", "meldewesen", "--password-stdin"]) == 0
    capsys.readouterr()
    token = asyncio.run(_with_staff(database_url, _open_session_of_bob))

    def alive(staff: Staff) -> Awaitable[Clerk | None]:
        return staff.session_clerk(token)

    assert asyncio.run(_with_staff(database_url, alive)) is not None

    changed = main(["clerk", "set", "bob", "--skills", "beratung,meldewesen", "--role", "admin"])
    assert changed == 0
    assert "every session ended" in capsys.readouterr().out
    listed = _list_line(capsys, "bob").split()[2:]
    assert listed == ["admin", "active", "no", "2FA", "beratung,meldewesen"]
    assert asyncio.run(_with_staff(database_url, alive)) is None

    assert main(["clerk", "set", "bob", "--active", "no", "--skills", ""]) == 0
    capsys.readouterr()
    assert _list_line(capsys, "bob").split()[2:] == ["admin", "inactive", "no", "2FA", "-"]
    assert main(["clerk", "set", "nobody", "--active", "yes"]) != 0
    assert "Kein Konto" in capsys.readouterr().err


def test_clerk_command_refuses_a_short_password(
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, tmp_path, database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["clerk", "add", "carl", "--password-stdin"]) != 0
    captured = capsys.readouterr()
    assert "Das Passwort braucht mindestens 12 und höchstens 128 Zeichen." in captured.err
    assert "created" not in captured.out
    assert main(["clerk", "list"]) == 0
    assert "carl" not in capsys.readouterr().out


# -- settings ----------------------------------------------------------------------------


REQUIRED = ("BB_SECRET_KEY", "BB_SMTP_HOST", "BB_MAIL_FROM", "BB_PUBLIC_URL", "BB_CAPTURE_KEY")


def _bare_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: Any) -> Settings:
    for name in (*REQUIRED, "BB_MODE", "BB_SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    return Settings(
        _env_file=None,
        mode=Mode.PRODUCTION,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        **values,
    )


def test_production_mode_names_every_missing_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _bare_production(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as refused:
        create_app(settings)
    text = str(refused.value.code)
    assert "production" in text
    for name in REQUIRED:
        assert name in text


def test_production_mode_names_only_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _bare_production(
        monkeypatch,
        tmp_path,
        secret_key="change-me-change-me-change-me-change-me",
        smtp_host="mail.example.org",
        mail_from="buergerbuero@example.org",
        public_url="http://termine.example.org",
    )
    with pytest.raises(SystemExit) as refused:
        create_app(settings)
    text = str(refused.value.code)
    assert "BB_SECRET_KEY" in text and "BB_PUBLIC_URL" in text
    assert "BB_SMTP_HOST" not in text and "BB_MAIL_FROM" not in text


@pytest.mark.parametrize(
    ("host", "tls", "refused"),
    [
        ("mail.example.org", "none", True),  # personal links in plain text over the net
        ("mail.example.org", "starttls", False),
        ("127.0.0.1", "none", False),  # a relay on this host
        ("localhost", "none", False),
    ],
)
def test_production_mode_sends_mail_unencrypted_only_to_this_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str, tls: str, refused: bool
) -> None:
    settings = _bare_production(monkeypatch, tmp_path, smtp_host=host, smtp_tls=tls)
    assert any("BB_SMTP_TLS" in problem for problem in settings.problems()) is refused
