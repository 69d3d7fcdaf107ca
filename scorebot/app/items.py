"""What every signal source puts on the one inbox queue, in the order it saw things.

The consumer handles them one at a time: an `Inbound` is applied (its replies are
committed with it, then sent), a `Notice` is queued for sending as is (it changed nothing),
and a `Checkpoint` saves the source's position and memory only once every item before it
was handled. A crash therefore replays at most what came after the last checkpoint, and
the idempotency keys make that replay a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from scorebot.core.model import Signal

SYNC_POSITION = "sync_token"
"""the store value name under which a checkpoint's position is kept"""


@dataclass(frozen=True, slots=True)
class InRoom:
    """Replies go into the meeting room, threaded under `reply_to` when there is one."""

    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class Private:
    """It came privately: public replies go into the meeting room unthreaded, private
    ones back to `reply_room` (the direct chat it came from) or, without one, to the
    person's direct chat with the bot."""

    user: str
    reply_room: str | None = None
    reply_to: str | None = None
    """the message to thread private replies under, in `reply_room`"""


Destination = InRoom | Private
"""where the replies to an item belong"""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A signal for one meeting room, with where its replies belong."""

    signal: Signal
    room: str
    """the meeting room the signal applies to"""
    destination: Destination = InRoom()


@dataclass(frozen=True, slots=True)
class Notice:
    """A reply that needs no meeting state: help for unclear input, decryption trouble."""

    key: str
    """idempotency key of what caused it (the event id): a replay sends it once only"""
    room: str
    """the room the cause was seen in"""
    text: str
    destination: Destination = InRoom()
    mentions: tuple[str, ...] = ()
    sender: str | None = None
    """who sent what caused it, so one person's flood of them is limited like signals"""
    at: float = 0.0
    """when that was sent (seconds)"""


@dataclass(frozen=True, slots=True)
class MemoryWrite:
    """One entry of a source's own memory to save (value None forgets it).

    Only the newest `keep` entries of a kind are kept, so the memory stays bounded.
    """

    kind: str
    key: str
    value: str | None
    keep: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event that could not be turned into a signal, recorded so it is never silent."""

    event_id: str
    room: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Everything the source saw up to `position` is on the queue before this item.

    Saved in one transaction: the position, the source's memory writes (who sent which
    message, raised hands, call memberships) and the events it had to skip.
    """

    position: str
    memory: tuple[MemoryWrite, ...] = ()
    skipped: tuple[Skipped, ...] = ()


Item = Inbound | Notice | Checkpoint
