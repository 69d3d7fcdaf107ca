"""The ports the app talks through: the store it commits to and the sender it hands replies to."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scorebot.app.items import MemoryWrite, Skipped
from scorebot.core.minutes import Record
from scorebot.core.model import Meeting


class StorageError(Exception):
    """The store could not save (a full or read-only disk, a file it may not write).

    Stores raise this, not their library's own errors, so the consumer can hold on to
    what it was saving and try again without knowing which database is underneath."""


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """One meeting a room has held, as listed for `scorebot minutes`."""

    room: str
    number: int
    title: str
    started_at: float | None
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class ToRoom:
    """Send into this room."""

    room: str


@dataclass(frozen=True, slots=True)
class ToPerson:
    """Send into the bot's direct chat with this person (opened if there is none)."""

    user: str


Target = ToRoom | ToPerson


class OutKind(enum.StrEnum):
    MESSAGE = "message"
    """an answer of its own, threaded to what it answers"""
    ANNOUNCEMENT = "announcement"
    """a change of the stack: in a burst, sent together with the announcements next to it"""
    STACK = "stack"
    """a message that shows the stack: it becomes the room's stack message"""
    OVERVIEW = "overview"
    """the stack as it now is: edits the room's stack message; only the newest counts"""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send, committed in the same transaction as what caused it."""

    txn: str
    """transaction id, derived from the cause's key: the homeserver keeps it once"""
    target: Target
    kind: OutKind
    text: str
    html: str
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    answers: str | None = None
    """the user whose message this answers, mentioned when it is sent together with others"""


@dataclass(frozen=True, slots=True)
class Pending:
    """An unsent message, with the batch it was recorded in before a send (if any)."""

    outgoing: Outgoing
    batch: str | None = None


class Store(Protocol):
    async def load(self, room: str) -> Meeting | None:
        """The room's meeting as last committed, or None if the room is new."""
        ...

    async def seen(self, key: str) -> bool:
        """Whether a signal with this idempotency key was already applied."""
        ...

    async def apply(
        self,
        key: str,
        before: Meeting,
        after: Meeting,
        records: Sequence[Record],
        outgoing: Sequence[Outgoing] = (),
    ) -> bool:
        """Commit a signal's effect, its key and its replies to send in one transaction.

        Returns False, changing nothing, if `key` was already applied (a replay).
        `before` is the state the effect was computed from; `records` are appended to
        the minutes of meeting number `after.number` in `after.room`.
        """
        ...

    async def queue(self, outgoing: Sequence[Outgoing]) -> bool:
        """Commit messages to send that change no meeting; False if their first
        transaction id was already queued (a replay), changing nothing."""
        ...

    async def unsent(self) -> list[Pending]:
        """Committed messages not yet marked sent, in commit order."""
        ...

    async def record_batch(self, batch: str, txns: Sequence[str]) -> None:
        """Before sending several messages as one, record which, under one transaction id."""
        ...

    async def mark_sent(self, txns: Sequence[str], event_id: str) -> None:
        """The homeserver accepted them (as `event_id`; empty when given up on)."""
        ...

    async def checkpoint(
        self, name: str, position: str, memory: Sequence[MemoryWrite], skipped: Sequence[Skipped]
    ) -> None:
        """Save a source's position, its memory writes and skipped events together."""
        ...

    async def remembered(self, kind: str) -> list[tuple[str, str]]:
        """A source's memory entries of one kind, (key, value), oldest first."""
        ...

    async def skipped(self) -> int:
        """How many events were recorded as skipped."""
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


class Sender(Protocol):
    def post(self, messages: Sequence[Outgoing]) -> None:
        """Committed messages, in commit order: send them now, each exactly once."""
        ...
