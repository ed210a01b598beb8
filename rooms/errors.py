"""Errors of the live rooms, each with a stable code and a German message."""

from __future__ import annotations

from common.errors import UserError


class RoomError(UserError):
    """Base of every rooms error."""

    code = "room_error"
    message = "Der Vorgang ist gerade nicht möglich."


class QueueEmpty(RoomError):
    """Nobody waits for the clerk's skills."""

    code = "queue_empty"
    message = "Im Moment wartet niemand."


class NotWaiting(RoomError):
    """The citizen is not (or no longer) in the waiting room."""

    code = "not_waiting"
    message = "Diese Person wartet nicht mehr – vielleicht hat eine Kollegin sie übernommen."


class ClerkBusy(RoomError):
    """The clerk is already in a call."""

    code = "clerk_busy"
    message = "Sie sind bereits in einem Gespräch."


class NotInCall(RoomError):
    """The sender belongs to no call, or not to this one."""

    code = "not_in_call"
    message = "Sie sind in keinem Gespräch."


class SkillMissing(RoomError):
    """The clerk lacks the skill the citizen's service needs."""

    code = "skill_missing"
    message = "Für dieses Anliegen fehlt Ihnen die Berechtigung."


class UnknownSkill(RoomError):
    """A transfer to a skill no service of the town needs."""

    code = "unknown_skill"
    message = "Für dieses Anliegen gibt es keine Zuständigkeit."


class ColleagueUnavailable(RoomError):
    """A transfer by name to someone who is not a colleague on duty."""

    code = "colleague_unavailable"
    message = "Diese Kollegin oder dieser Kollege ist gerade nicht im Dienst."


class NoSuchMember(RoomError):
    """A relayed message names no other member of a call (or none at all, from a guest)."""

    code = "invalid_payload"
    message = "Die Nachricht ist ungültig."
