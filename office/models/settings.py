"""What admins set in the browser over the town file's defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from office.models.base import Base


class ServiceSetting(Base):
    """A service's bookability, fee, duration and documents from ``effective_from`` on.

    Rows are only added, never changed: an appointment keeps the terms of the moment it
    was booked (``office.service_settings``). NULL means the town file's value.
    """

    __tablename__ = "service_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[datetime]
    bookable: Mapped[bool | None] = mapped_column(Boolean)
    fee_cents: Mapped[int | None] = mapped_column(Integer)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    documents: Mapped[list[str] | None] = mapped_column(JSON)
    documents_en: Mapped[list[str] | None] = mapped_column(JSON)
