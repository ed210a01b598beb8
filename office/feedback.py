"""Feedback after the call: a rating from 1 to 5 and an optional comment, once per
appointment that was held.

Anonymous by construction: the feedback row keeps the month and the service, never
the appointment, a name or the time of day; the appointment only records that it gave
feedback (to allow one). Counted in the statistics with the rest (issue 14's office
statistics read the table).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from common.i18n import N_
from office.context import Office
from office.errors import FeedbackClosed, InvalidInput
from office.models import Appointment, AppointmentStatus, Feedback

MAX_COMMENT = 1000


@dataclass(frozen=True)
class Rating:
    rating: int
    comment: str | None


def parse_rating(form: dict[str, str]) -> Rating:
    """A rating from a form: 1-5, a comment of at most 1,000 characters or none."""
    raw = form.get("rating", "").strip()
    comment = form.get("comment", "").strip() or None
    fields: dict[str, str] = {}
    if raw not in {"1", "2", "3", "4", "5"}:
        fields["rating"] = N_("Bitte wählen Sie eine Bewertung von 1 bis 5.")
    if comment is not None and len(comment) > MAX_COMMENT:
        fields["comment"] = N_("Bitte schreiben Sie höchstens 1000 Zeichen.")
    if fields:
        raise InvalidInput(fields)
    return Rating(int(raw), comment)


class FeedbackDesk:
    def __init__(self, office: Office) -> None:
        self.office = office

    async def give(self, appointment_id: str, given: Rating) -> None:
        """Keep the rating of a held appointment; :class:`FeedbackClosed` before the
        call took place or when it was given already (nothing is stored then)."""
        now = self.office.now()
        async with self.office.sessions() as session, session.begin():
            # The flag flips in the same statement that checks it: two submissions
            # at once store one rating.
            marked = await session.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment_id,
                    Appointment.status == AppointmentStatus.COMPLETED,
                    Appointment.feedback_given.is_(False),
                )
                .values(feedback_given=True)
                .returning(Appointment.service_id)
            )
            service_id = marked.scalar_one_or_none()
            if service_id is None:
                raise FeedbackClosed()
            session.add(
                Feedback(
                    month=now.astimezone(self.office.town.tz).strftime("%Y-%m"),
                    service_id=service_id,
                    rating=given.rating,
                    comment=given.comment,
                )
            )
