"""The base of every error a person gets to read.

Each family (the office's, the live rooms', the capture's) subclasses it; each error
has a stable ``code`` that programs switch on and a German ``message`` for people.
The transport turns any of them into its answer in one place, whatever the family.
"""

from __future__ import annotations

from common.i18n import N_


class UserError(Exception):
    """A refusal with a stable code and a message a citizen or clerk can read."""

    code = "error"
    message = N_("Es ist ein Fehler aufgetreten.")

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)
