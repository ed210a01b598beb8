"""Viewing an ID capture: staff only, through the short-lived link the vault made."""

from __future__ import annotations

from aiohttp import web

from media.vault import CaptureForbidden
from office.errors import NotFound, TokenInvalid
from signalling.keys import VAULT
from signalling.pages.staff import staff_member

routes = web.RouteTableDef()


@routes.get("/erfassungen/{token}")
async def capture(request: web.Request) -> web.Response:
    viewer = await staff_member(request)
    if viewer is None:
        raise web.HTTPForbidden()
    try:
        image = await request.app[VAULT].open(request.match_info["token"], viewer)
    except CaptureForbidden:
        raise web.HTTPForbidden() from None
    except (TokenInvalid, NotFound):
        raise web.HTTPNotFound() from None
    return web.Response(
        body=image,
        content_type="image/jpeg",
        # A copy of an ID document: never kept by the browser or a proxy.
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )
