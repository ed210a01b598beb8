"""The office's statistics, kept as facts without a person in them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from office.models.base import Base


class StatisticFact(Base):
    """One counted event: a booking, a call held, its wait in seconds, a fee invoiced.

    Written in the transaction of the event itself (``office.statistics_record``) and
    never changed afterwards; a figure is the sum of its facts (a booking moved to
    another day is ``-1`` on the old day and ``+1`` on the new one). No citizen, no
    clerk, no appointment and no time of day: only the local day of the appointment
    and its service. The purge leaves these rows alone, so the figures outlive the
    personal data they were counted from. The id is random, not a sequence, so that
    the order of the rows does not line them up with the audit log.
    """

    __tablename__ = "statistic_facts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the appointment's local day (or a period's first)
    service_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    count: Mapped[int] = mapped_column(Integer, default=1)  # +1, or -1 for a fact undone
    amount: Mapped[int | None] = mapped_column(Integer)  # seconds, cents, or a number of clerks

    __table_args__ = (Index("ix_statistic_facts_day", "day"),)
