"""Every waiting citizen's standing, kept from one push of the lobby to the next.

A push must tell each citizen whose place or estimate changed. Most changes in a busy
hour are check-ins at the end of the queue, which change nobody else's standing: the
board then counts on from where its last pass over the queue ended, instead of
passing over everyone again. Any other change (a take, a leave, a clerk coming or
going) is a pass over the whole queue. No I/O: the lobby reads the store and asks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from rooms import waiting as rules
from rooms.state import Ticket


class Board:
    def __init__(self) -> None:
        self.standings: dict[str, rules.Standing] = {}  # by appointment
        self._order: list[str] = []  # the queue of the last update
        self._online: Counter[str] = Counter()
        self._tally: rules.Tally = {}

    def update(self, waiting: Sequence[Ticket], online: Counter[str]) -> Collection[str] | None:
        """Bring the board to this queue (in queue order) and these clerks on duty.
        Returns the appointments whose standing is new, or None when any may have
        changed."""
        order = [t.appointment_id for t in waiting]
        known = len(self._order)
        changed: Collection[str] | None
        if online == self._online and order[:known] == self._order:
            new = rules.standings(waiting[known:], online, self._tally)
            self.standings.update(new)
            changed = new.keys()
        else:
            self._tally = {}
            self.standings = rules.standings(waiting, online, self._tally)
            changed = None
        self._order, self._online = order, online
        return changed

    def count(self, skills: Collection[str]) -> int:
        """How many wait for any of these skills."""
        return rules.count_for_skills(self._tally, skills)
