"""Demo mode only: the mail outbox folder as a page, so mails can be read and clicked."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiohttp import web

from signalling.keys import SETTINGS
from signalling.render import render

routes = web.RouteTableDef()
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}\.eml$")


def _folder(request: web.Request) -> Path:
    return request.app[SETTINGS].outbox_dir()


def _read(request: web.Request, name: str) -> EmailMessage:
    if not _SAFE_NAME.fullmatch(name):
        raise web.HTTPNotFound()
    path = _folder(request) / name
    if not path.is_file():
        raise web.HTTPNotFound()
    return message_from_bytes(path.read_bytes(), policy=policy.default)


@routes.get("/dev/outbox", name="outbox")
async def outbox(request: web.Request) -> web.Response:
    folder = _folder(request)
    files = sorted(folder.glob("*.eml"), reverse=True) if folder.is_dir() else []
    mails = []
    for path in [p for p in files if _SAFE_NAME.fullmatch(p.name)][:200]:
        message = _read(request, path.name)
        mails.append({"name": path.name, "subject": message["Subject"], "to": message["To"]})
    return render(request, "dev/outbox.html", {"mails": mails})


@routes.get("/dev/outbox/{name}")
async def mail(request: web.Request) -> web.Response:
    message = _read(request, request.match_info["name"])
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    links = re.findall(r"https?://\S+", text)
    return render(
        request,
        "dev/mail.html",
        {
            "name": request.match_info["name"],
            "message": message,
            "text": text,
            "attachments": attachments,
            "links": links,
        },
    )


@routes.get("/dev/outbox/{name}/{filename}")
async def attachment(request: web.Request) -> web.Response:
    message = _read(request, request.match_info["name"])
    for part in message.iter_attachments():
        if part.get_filename() == request.match_info["filename"]:
            return web.Response(
                body=part.get_payload(decode=True), content_type=part.get_content_type()
            )
    raise web.HTTPNotFound()
