"""The store contract the app relies on; the memory and SQLite stores both keep it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scorebot.core.minutes import Record
from scorebot.core.model import Meeting


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """One meeting a room has held, as listed for `scorebot minutes`."""

    room: str
    number: int
    title: str
    started_at: float | None
    ended_at: float | None


def ended_at(
    before: Meeting, after: Meeting, records: Sequence[Record], now: float
) -> float | None:
    """When `apply` should record the meeting as ended: only on the step that ends it.

    Records carry the signal's time; without any, the commit time is the best guess.
    """
    if before.active and not after.active:
        return records[-1].at if records else now
    return None


class Store(Protocol):
    async def load(self, room: str) -> Meeting | None:
        """The room's meeting as last committed, or None if the room is new."""
        ...

    async def seen(self, key: str) -> bool:
        """Whether a signal with this idempotency key was already applied."""
        ...

    async def apply(
        self, key: str, before: Meeting, after: Meeting, records: Sequence[Record]
    ) -> bool:
        """Commit a signal's effect and its key in one transaction.

        Returns False, changing nothing, if `key` was already applied (a replay).
        `before` is the state the effect was computed from; `records` are appended to
        the minutes of meeting number `after.number` in `after.room`.
        """
        ...

    async def rooms(self) -> list[str]:
        """Rooms that have a stored meeting."""
        ...

    async def meetings(self, room: str | None = None) -> list[MeetingInfo]: ...

    async def minutes(self, room: str, number: int) -> list[Record]:
        """A meeting's minutes records in the order they were appended."""
        ...

    async def get_value(self, name: str) -> str | None:
        """A small named value the adapters keep beside the meetings (e.g. sync token)."""
        ...

    async def set_value(self, name: str, value: str) -> None: ...

    async def close(self) -> None: ...
