"""Services' bookability, fee, duration and documents as admins set them in the
browser, over the town file's defaults.

Each change is a new row from its moment on; rows are never edited. So the terms an
appointment was booked under stay findable: its mails, a reschedule and the fee of a
case opened in its call use the service as it was when the citizen booked
(``Office.service_of``); only new bookings see the change. Every node keeps the rows
in memory (a handful) and reloads them when any node reports a change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from common.i18n import N_
from office import audit
from office.catalogue import Service, Town
from office.errors import InvalidInput, NotFound
from office.models import ServiceSetting

MAX_FEE_CENTS = 100_000_00
MAX_DOCUMENTS = 20  # both in the message below
DOCUMENT_MAX = 200


@dataclass(frozen=True)
class Setting:
    """One saved state of a service's settings; None: the town file's value."""

    service_id: str
    effective_from: datetime
    bookable: bool | None = None
    fee_cents: int | None = None
    duration_minutes: int | None = None
    documents: tuple[str, ...] | None = None
    documents_en: tuple[str, ...] | None = None

    def over(self, service: Service) -> Service:
        fields = ("bookable", "fee_cents", "duration_minutes", "documents", "documents_en")
        update = {f: getattr(self, f) for f in fields if getattr(self, f) is not None}
        return service.model_copy(update=update)


def _setting(row: ServiceSetting) -> Setting:
    return Setting(
        row.service_id,
        row.effective_from,
        row.bookable,
        row.fee_cents,
        row.duration_minutes,
        None if row.documents is None else tuple(row.documents),
        None if row.documents_en is None else tuple(row.documents_en),
    )


def effective(town: Town, settings: Iterable[Setting], at: datetime | None = None) -> Town:
    """The town with each service's latest setting (as of ``at``) laid over the file."""
    latest: dict[str, Setting] = {}
    for setting in sorted(settings, key=lambda s: s.effective_from):
        if at is None or setting.effective_from <= at:
            latest[setting.service_id] = setting
    if not latest:
        return town
    services = tuple(latest[s.id].over(s) if s.id in latest else s for s in town.services)
    return town.model_copy(update={"services": services})


def _documents(value: Sequence[str] | None, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    kept = tuple(" ".join(d.split()) for d in value if d.strip())
    if len(kept) > MAX_DOCUMENTS or any(len(d) > DOCUMENT_MAX for d in kept):
        raise InvalidInput({name: N_("Höchstens 20 Unterlagen mit je 200 Zeichen.")})
    return kept


class ServiceSettings:
    def __init__(self, town_file: Town, sessions: Any, now: Callable[[], datetime]) -> None:
        self.town_file = town_file
        self.sessions = sessions
        self.now = now
        self.settings: tuple[Setting, ...] = ()
        # Told after a change committed: the other nodes reload (signalling.wiring).
        self.changed_hooks: list[Callable[[], Awaitable[None]]] = []
        # Told after every (re)load, with the town as it now is (the office takes it).
        self.loaded_hooks: list[Callable[[Town], None]] = []

    def town(self, at: datetime | None = None) -> Town:
        return effective(self.town_file, self.settings, at)

    async def load(self) -> None:
        async with self.sessions() as session:
            rows = (await session.scalars(select(ServiceSetting).order_by(ServiceSetting.id))).all()
        self.settings = tuple(_setting(r) for r in rows)
        for hook in self.loaded_hooks:
            hook(self.town())

    async def change(
        self,
        service_id: str,
        *,
        bookable: bool | None,
        fee_cents: int | None,
        duration_minutes: int | None,
        documents: Sequence[str] | None,
        documents_en: Sequence[str] | None,
        actor: str,
    ) -> Service:
        """Save a service's settings (None: the file's value) for bookings from now on."""
        base = self.town_file.service(service_id)
        if base is None:
            raise NotFound(N_("Dieses Anliegen gibt es nicht."))
        unit = self.town_file.booking.unit_minutes
        if duration_minutes is not None and (
            not 0 < duration_minutes <= 240 or duration_minutes % unit
        ):
            raise InvalidInput(
                {
                    "duration_minutes": N_(
                        "Die Dauer: bis 240 Minuten, in Schritten der Buchungseinheit."
                    )
                }
            )
        if fee_cents is not None and not 0 <= fee_cents <= MAX_FEE_CENTS:
            raise InvalidInput({"fee": N_("Die Gebühr liegt zwischen 0 und 100.000 Euro.")})
        now = self.now()
        setting = Setting(
            service_id,
            now,
            bookable,
            fee_cents,
            duration_minutes,
            _documents(documents, "documents"),
            _documents(documents_en, "documents_en"),
        )
        try:
            result = Service.model_validate(setting.over(base).model_dump())
        except ValidationError:
            raise InvalidInput(
                {"documents_en": N_("Die englischen Unterlagen müssen jede deutsche nennen.")}
            ) from None
        async with self.sessions() as session, session.begin():
            session.add(
                ServiceSetting(
                    service_id=service_id,
                    effective_from=now,
                    bookable=bookable,
                    fee_cents=fee_cents,
                    duration_minutes=duration_minutes,
                    documents=None if setting.documents is None else list(setting.documents),
                    documents_en=None
                    if setting.documents_en is None
                    else list(setting.documents_en),
                )
            )
            audit.record(
                session,
                now,
                actor,
                "service.changed",
                f"service:{service_id}",
                bookable=result.bookable,
                fee_cents=result.fee_cents,
                duration_minutes=result.duration_minutes,
            )
        await self.load()
        for hook in self.changed_hooks:
            await hook()
        return result
