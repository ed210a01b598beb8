"""Database tables (SQLAlchemy 2 declarative, the same on SQLite and PostgreSQL).

Times are stored in UTC. ``UTCDateTime`` makes that hold on SQLite too, which keeps no
time zone: values go in as naive UTC and come back as aware UTC datetimes.
"""

from __future__ import annotations

from office.models.appointments import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    BookedUnit,
    CallGuest,
    OutboxMail,
    SpentToken,
)
from office.models.base import Base, UTCDateTime
from office.models.cases import (
    BankEntry,
    Case,
    CaseEvent,
    CaseState,
    Invoice,
    InvoiceCounter,
    Payment,
    PaypalOrder,
)
from office.models.feedback import Feedback
from office.models.identity import Capture, VerificationRecord, VerificationStep
from office.models.settings import ServiceSetting
from office.models.staff import (
    Absence,
    Clerk,
    ClerkHours,
    ClerkSkill,
    Closure,
    Role,
    SpecialHours,
    StaffSession,
)
from office.models.statistics import StatisticFact

__all__ = [
    "Absence",
    "Appointment",
    "AppointmentStatus",
    "AuditEntry",
    "BankEntry",
    "Base",
    "BookedUnit",
    "CallGuest",
    "Capture",
    "Case",
    "CaseEvent",
    "CaseState",
    "Clerk",
    "ClerkHours",
    "ClerkSkill",
    "Closure",
    "Feedback",
    "Invoice",
    "InvoiceCounter",
    "OutboxMail",
    "Payment",
    "PaypalOrder",
    "Role",
    "ServiceSetting",
    "SpecialHours",
    "SpentToken",
    "StaffSession",
    "StatisticFact",
    "UTCDateTime",
    "VerificationRecord",
    "VerificationStep",
]
