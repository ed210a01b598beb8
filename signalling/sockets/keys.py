"""Typed keys for the socket layer's parts (``app[KEY]``): the pages cannot name them."""

from __future__ import annotations

from aiohttp import web

from signalling.sockets.case_panel import CasePanel
from signalling.sockets.lobby import Lobby
from signalling.sockets.staff_sockets import StaffSockets

LOBBY = web.AppKey("lobby", Lobby)
STAFF_SOCKETS = web.AppKey("staff_sockets", StaffSockets)
CASE_PANEL = web.AppKey("case_panel", CasePanel)
