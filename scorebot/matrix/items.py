"""What the Matrix adapter puts on the one inbox queue, in sync order.

The consumer handles them one at a time: an `Inbound` is applied (commit first, then
reply), a `Notice` is sent as is (it changed nothing), and a `SyncMarker` is saved as the
sync position only once every item before it was handled. A crash therefore replays at
most the last sync batch, and the event-id idempotency keys make that replay a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from scorebot.core.model import Signal

SYNC_TOKEN = "sync_token"
"""the store value name under which the consumer keeps the sync position"""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A signal for one meeting room, with where its replies belong."""

    signal: Signal
    room: str
    """the meeting room the signal applies to"""
    reply_room: str
    """the room it came from: the meeting room, or the direct chat it was sent in"""
    reply_to: str | None = None
    """event id to thread replies under (None for clock ticks and reactions' edits)"""

    @property
    def private(self) -> bool:
        """It came from a direct chat: replies go back there, not into the meeting."""
        return self.reply_room != self.room


@dataclass(frozen=True, slots=True)
class Notice:
    """A reply that needs no meeting state: help for unclear input, decryption trouble."""

    room: str
    """the room the cause was seen in"""
    text: str
    reply_to: str | None = None
    to_user: str | None = None
    """send privately to this user's direct chat with the bot instead of `room`"""
    mentions: tuple[str, ...] = ()
    sender: str | None = None
    """the member whose message caused it (None for the bot's own notices)"""
    at: float = 0.0
    """seconds: when that message was sent"""


@dataclass(frozen=True, slots=True)
class SyncMarker:
    """Everything from the sync response before this marker is on the queue."""

    token: str
    """the response's next_batch"""


Item = Inbound | Notice | SyncMarker
