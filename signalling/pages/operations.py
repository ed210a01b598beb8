"""For the people and tools that run the office: liveness, readiness, metrics.

``/healthz``: the process answers (a load balancer restarts it otherwise).
``/readyz``: the node can serve: the database answers and its schema is current, and
Redis answers when one is configured; 503 naming each part that fails (a load balancer
sends it no traffic meanwhile). ``/metrics``: see ``signalling.metrics``.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text

from office.migrate import current_revision, head_revision
from signalling.clients import client_ip
from signalling.keys import CAPTURES, ENGINE, METRICS, REDIS, ROOM_STORE, SETTINGS, TOWN
from signalling.metrics import allowed, exposition_response

routes = web.RouteTableDef()
CHECK_SECONDS = 2.0  # a readiness probe must answer well within the prober's timeout


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _database(request: web.Request) -> str:
    engine = request.app[ENGINE]
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    if await current_revision(engine) != head_revision():
        return "schema not current: run `buergerbuero migrate`"
    return "ok"


async def _redis(redis: Redis) -> str:
    await redis.ping()
    return "ok"


async def _check(name: str, probe: asyncio.Future[str] | asyncio.Task[str]) -> tuple[str, str]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return name, await probe
    except TimeoutError:
        return name, f"no answer within {CHECK_SECONDS:.0f} s"
    except Exception as exc:  # the part is down: say which, not its secrets
        return name, f"unreachable ({type(exc).__name__})"


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    probes = {"database": _database(request)}
    if (redis := request.app[REDIS]) is not None:
        probes["redis"] = _redis(redis)
    results = await asyncio.gather(
        *(_check(name, asyncio.ensure_future(probe)) for name, probe in probes.items())
    )
    checks = dict(results)
    ok = all(result == "ok" for result in checks.values())
    return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if not allowed(request, settings.metrics_allow, token, client_ip(request)):
        raise web.HTTPForbidden()
    figures = request.app[METRICS]
    sessions = request.app[CAPTURES].workers.active
    await figures.refresh(request.app[ROOM_STORE], request.app[TOWN], sessions)
    return exposition_response(figures)
