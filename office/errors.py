"""Errors the office domain raises.

Every error has a stable ``code`` a program can switch on and a German ``message``
a citizen can read (marked with ``N_``: pages show it in the visitor's language).
The transport layer maps families to HTTP statuses; it never needs to know the
individual errors.
"""

from __future__ import annotations

from common.errors import UserError
from common.i18n import N_


class OfficeError(UserError):
    """Base of every domain error."""

    code = "office_error"
    message = N_("Es ist ein Fehler aufgetreten.")


class InvalidInput(OfficeError):
    """The request is malformed or a value is out of range.

    ``fields`` maps each offending field to a German message, so a form can show
    every problem at once.
    """

    code = "invalid_input"
    message = N_("Die Eingabe ist ungültig. Bitte prüfen Sie die markierten Felder.")

    def __init__(self, fields: dict[str, str] | None = None, message: str | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(message)


class NotFound(OfficeError):
    """The thing asked for does not exist (or must not be revealed)."""

    code = "not_found"
    message = N_("Nicht gefunden.")


class Conflict(OfficeError):
    """The request is valid but the current state does not allow it."""

    code = "conflict"
    message = N_("Der Vorgang ist im aktuellen Zustand nicht möglich.")


class Unavailable(OfficeError):
    """A service the office relies on (PayPal) cannot be reached just now; trying
    again later may work. Nothing was changed."""

    code = "unavailable"
    message = N_(
        "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal."
    )


class SlotTaken(Conflict):
    """The slot filled up between showing it and booking it."""

    code = "slot_taken"
    message = N_("Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie einen anderen.")


class SlotUnavailable(Conflict):
    """The slot is not bookable: outside the hours, in the past, or too far ahead."""

    code = "slot_unavailable"
    message = N_("Zu diesem Zeitpunkt kann kein Termin gebucht werden.")


class AppointmentClosed(Conflict):
    """The appointment is cancelled or over and can no longer be changed."""

    code = "appointment_closed"
    message = N_("Dieser Termin kann nicht mehr geändert werden.")


class AppointmentInProgress(Conflict):
    """A clerk is serving the appointment right now: it cannot be cancelled, moved or
    deleted until the call ends (hang up first)."""

    code = "appointment_in_progress"
    message = N_(
        "Ihr Gespräch läuft gerade. Bitte beenden Sie es zuerst; danach können Sie den "
        "Termin absagen, verschieben oder Ihre Daten löschen."
    )


class CheckinNotOpen(Conflict):
    """Too early: the waiting room opens shortly before the appointment."""

    code = "checkin_not_open"
    message = N_("Der Warteraum öffnet erst kurz vor Ihrem Termin.")


class CheckinClosed(Conflict):
    """Too late, or the appointment is over, cancelled or marked as a no-show."""

    code = "checkin_closed"
    message = N_("Der Warteraum ist für diesen Termin geschlossen.")


class TokenInvalid(OfficeError):
    """A link token is tampered with, expired, or belongs to a closed appointment."""

    code = "token_invalid"
    message = N_("Dieser Link ist ungültig oder abgelaufen.")


class TokenExpired(TokenInvalid):
    """A link token was genuine but its time is over."""

    code = "token_expired"
    message = N_("Dieser Link ist abgelaufen.")


class AuthFailed(OfficeError):
    """Username, password or second factor did not match."""

    code = "auth_failed"
    message = N_(
        "Anmeldung fehlgeschlagen. Bitte prüfen Sie Ihre Angaben. Nach mehreren "
        "Fehlversuchen wird ein Konto vorübergehend gesperrt."
    )


class AccountLocked(AuthFailed):
    """Too many failed attempts: the account is locked for a while."""

    code = "account_locked"
    message = N_("Zu viele Fehlversuche. Das Konto ist vorübergehend gesperrt.")


class UploadTokenInvalid(OfficeError):
    """A photo upload link that is forged or malformed."""

    code = "upload_token_invalid"
    message = N_("Dieser Link für das Foto ist ungültig.")


class UploadTokenExpired(OfficeError):
    code = "upload_token_expired"
    message = N_(
        "Der Link für das Foto ist abgelaufen. Die Sachbearbeitung kann ein neues Foto anfordern."
    )


class UploadTokenUsed(OfficeError):
    """The link's one photo was uploaded already (on this node or another)."""

    code = "upload_token_used"
    message = N_(
        "Dieses Foto wurde bereits übertragen. Für ein weiteres Foto fordert die "
        "Sachbearbeitung einen neuen Link an."
    )


class UploadForbidden(OfficeError):
    """The upload link belongs to another appointment than the sender's session."""

    code = "upload_forbidden"
    message = N_("Dieser Link gehört nicht zu Ihrem Termin.")


class VerificationClosed(Conflict):
    """The identity check a request was made for is no longer running."""

    code = "verification_closed"
    message = N_("Die Identitätsprüfung läuft nicht mehr.")


class FeedbackClosed(Conflict):
    """Feedback is for a call that took place, once."""

    code = "feedback_closed"
    message = N_("Eine Rückmeldung ist nach dem Gespräch einmal möglich.")


class GuestLinkInvalid(OfficeError):
    """A guest's link or session that is forged, expired, used, or whose call is over
    or which the clerk withdrew."""

    code = "guest_link_invalid"
    message = N_(
        "Dieser Einladungslink gilt nicht (mehr). Bitten Sie die Sachbearbeitung um einen "
        "neuen Link."
    )


class GuestLimit(Conflict):
    """A call has room for one guest at a time."""

    code = "guest_limit"
    message = N_(
        "Es ist schon eine weitere Person eingeladen. Entfernen Sie sie zuerst, um eine "
        "andere einzuladen."
    )
