"""The app's notion of now, moved by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Starts on the test Monday, 08:00 in Ostfildern (06:00 UTC)."""

    def __init__(self, start: datetime = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.current = when
