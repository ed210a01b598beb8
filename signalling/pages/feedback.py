"""The citizen's feedback after the call (``office/feedback.py``): the form is on the
waiting-room page's last view, and on a page of its own for a citizen who comes back."""

from __future__ import annotations

from aiohttp import web

from common.i18n import translate
from office.errors import FeedbackClosed, InvalidInput, NotFound
from office.feedback import parse_rating
from signalling import i18n
from signalling.keys import FEEDBACK
from signalling.pages.appointment import current
from signalling.render import error_page, render

routes = web.RouteTableDef()


@routes.get("/termin/rueckmeldung", name="feedback")
async def feedback_form(request: web.Request) -> web.Response:
    await current(request)
    return render(request, "feedback.html", {"thanks": False, "errors": []})


@routes.post("/termin/rueckmeldung")
async def give_feedback(request: web.Request) -> web.Response:
    appointment = await current(request)
    lang = i18n.language(request)
    form = await request.post()
    try:
        rating = parse_rating({k: v for k, v in form.items() if isinstance(v, str)})
        await request.app[FEEDBACK].give(appointment.id, rating)
    except InvalidInput as exc:
        messages = [translate(lang, message) for message in exc.fields.values()]
        return render(request, "feedback.html", {"thanks": False, "errors": messages}, status=400)
    except (FeedbackClosed, NotFound) as exc:
        return error_page(request, 409, i18n.error_text(exc, lang))
    return render(request, "feedback.html", {"thanks": True, "errors": []})
