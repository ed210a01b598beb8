"""Fixtures: every persistence test runs on SQLite and on the real PostgreSQL.

PostgreSQL tests get a database of their own per test session, migrated once and
emptied between tests. When PostgreSQL cannot be reached the tests fail in CI
(CI=true or BB_REQUIRE_SERVICES=1) and are skipped with a clear reason elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from office.appointments import Appointments
from office.catalogue import Town, load_town
from office.db import create_engine
from office.migrate import upgrade
from office.models import Base
from office.staff import Staff
from signalling.app import create_app
from signalling.keys import APPOINTMENTS, STAFF
from signalling.settings import Mode, Settings
from tests.helpers.clock import Clock
from tests.helpers.constants import CAPTURE_KEY, SECRET, WEEKDAYS_7_TO_19
from tests.helpers.mail import SmtpServer
from tests.helpers.services import POSTGRES_ADMIN_URL, unavailable


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    import asyncio

    name = f"bb_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(POSTGRES_ADMIN_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(dsn, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL at {admin.render_as_string()}", exc)
    # A connection that a failed test leaves idle inside a transaction would hold its
    # row locks for ever and make every later test wait on them: the server ends such
    # sessions, and a test waiting on a lock fails instead of stalling the run.
    asyncio.run(
        run(
            f"ALTER DATABASE \"{name}\" SET idle_in_transaction_session_timeout = '30s';"
            f"ALTER DATABASE \"{name}\" SET lock_timeout = '30s'"
        )
    )
    url = admin.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    asyncio.run(_migrate(engine))
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(engine: AsyncEngine) -> None:
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database."""
    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def town() -> Town:
    return load_town()


@pytest.fixture
def settings(database_url: str, smtp: SmtpServer, tmp_path: Path) -> Settings:
    """Production mode, as a town runs it, with a real SMTP server."""
    return Settings(
        _env_file=None,
        mode=Mode.PRODUCTION,
        secret_key=SECRET,
        database_url=database_url,
        public_url="https://termine.test",
        data_dir=tmp_path / "var",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        mail_from="buergerbuero@ostfildern.test",
        capture_key=CAPTURE_KEY,
    )


@pytest.fixture
def app(settings: Settings, clock: Clock, town: Town, engine: AsyncEngine) -> web.Application:
    return create_app(settings, town=town, now=clock, run_jobs=False)


@pytest.fixture
async def client(
    app: web.Application, aiohttp_server: Any, aiohttp_client: Any
) -> TestClient[Any, Any]:
    server = await aiohttp_server(app)
    # The public URL is https: let the test client send Secure cookies over plain http.
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/").origin())])
    test_client: TestClient[Any, Any] = await aiohttp_client(server, cookie_jar=jar)
    return test_client


@pytest.fixture
def desk(client: TestClient[Any, Any]) -> Appointments:
    desk: Appointments = client.app[APPOINTMENTS]
    return desk


@pytest.fixture
def staff(client: TestClient[Any, Any]) -> Staff:
    staff: Staff = client.app[STAFF]
    return staff


@pytest.fixture
async def clerk(staff: Staff) -> int:
    """One clerk who does registration matters, Monday to Saturday 07:00-19:00."""
    created = await staff.create(
        "anna",
        "Anna A.",
        "correct horse battery",
        skills=["meldewesen", "beratung"],
        hours=WEEKDAYS_7_TO_19,
    )
    return created.id
