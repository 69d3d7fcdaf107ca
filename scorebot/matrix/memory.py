"""What the adapter remembers between events: recent senders, hand reactions, call members.

Bounded, so a long-running bot does not grow. Every change is also written to a journal
that the sync callback hands to the consumer with its checkpoint, so the memory is saved
in the same transaction as the sync position it belongs to (one writer): after a crash
both come back together, and the replayed events are converted again from the same
memory. So a hand lowered after a restart still finds the hand it lowers, and "ouch" as
a reply after a restart still finds whom it is aimed at.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from scorebot.app.items import MemoryWrite

SENDERS = "matrix.sender"
REACTIONS = "matrix.reaction"
CALL_MEMBERS = "matrix.call_member"
DIRECT_ROOMS = "matrix.direct_room"
"""kinds of the entries saved in the store's adapter memory"""

REACTIONS_VALUE = "matrix.reactions"
"""the reactions as one JSON value, as versions before the adapter memory table kept them"""
DIRECT_ROOMS_VALUE = "matrix.direct_rooms"
"""the direct chats as one JSON value, as versions before the adapter memory table kept them"""
STACK_MESSAGES_VALUE = "matrix.stack_messages"

RECENT_LIMIT = 2000
"""messages whose sender we remember, for "ouch" as a reply and for hands on our messages"""
REACTION_LIMIT = 5000
DIRECT_LIMIT = 10_000
"""direct chats remembered: one per person who ever wrote to the bot privately"""

_K = TypeVar("_K")
_V = TypeVar("_V")


class Bounded(Generic[_K, _V]):
    """A dict that forgets its oldest entries beyond `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[_K, _V] = OrderedDict()

    def __setitem__(self, key: _K, value: _V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def get(self, key: _K) -> _V | None:
        return self._items.get(key)

    def pop(self, key: _K) -> _V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[_K, _V]]:
        return list(self._items.items())


@dataclass(frozen=True, slots=True)
class HandReaction:
    """A hand raised by reacting: on the bot's stack message, or on a call membership."""

    room: str
    sender: str
    call: bool
    """an Element Call raised hand (Source.CALL_HAND), not a reaction to the bot's message"""
    membership_key: str = ""
    """for a call hand: the state key of the membership it was raised on"""


@dataclass(frozen=True, slots=True)
class CallMembership:
    room: str
    user: str
    state_key: str


class AdapterMemory:
    """The adapter's small state; change the saved parts through the methods below."""

    def __init__(self) -> None:
        self.senders: Bounded[str, str] = Bounded(RECENT_LIMIT)
        """event id -> sender, for recent messages (the bot's own included)"""
        self.reactions: Bounded[str, HandReaction] = Bounded(REACTION_LIMIT)
        """hand reaction event id -> what it raised"""
        self.call_members: Bounded[str, CallMembership] = Bounded(RECENT_LIMIT)
        """call membership event id -> whose membership it is"""
        self.stack_messages: dict[str, str] = {}
        """room -> event id of the bot's current stack message (written by the outbox)"""
        self.direct_rooms: set[str] = set()
        """rooms the bot was invited to (or created) as a direct chat"""
        self.creators: dict[str, frozenset[str]] = {}
        """room -> its creators, where the room version gives them unlimited power (v12+)"""
        self.told_sessions: Bounded[str, bool] = Bounded(RECENT_LIMIT)
        """Megolm session ids whose sender we already told we cannot read them"""
        self._journal: list[MemoryWrite] = []

    # ------------------------------------------------------------ saved changes

    def note_sender(self, event_id: str, sender: str) -> None:
        self.senders[event_id] = sender
        self._journal.append(MemoryWrite(SENDERS, event_id, sender, RECENT_LIMIT))

    def raise_hand(self, event_id: str, hand: HandReaction) -> None:
        self.reactions[event_id] = hand
        value = json.dumps([hand.room, hand.sender, hand.call, hand.membership_key])
        self._journal.append(MemoryWrite(REACTIONS, event_id, value, REACTION_LIMIT))

    def lower_hand(self, event_id: str) -> HandReaction | None:
        hand = self.reactions.pop(event_id)
        if hand is not None:
            self._journal.append(MemoryWrite(REACTIONS, event_id, None, REACTION_LIMIT))
        return hand

    def note_call_member(self, event_id: str, membership: CallMembership) -> None:
        self.call_members[event_id] = membership
        value = json.dumps([membership.room, membership.user, membership.state_key])
        self._journal.append(MemoryWrite(CALL_MEMBERS, event_id, value, RECENT_LIMIT))

    def note_direct_room(self, room_id: str) -> None:
        self.direct_rooms.add(room_id)
        self._journal.append(MemoryWrite(DIRECT_ROOMS, room_id, "", DIRECT_LIMIT))

    def take_writes(self) -> tuple[MemoryWrite, ...]:
        """The changes since the last call, for the next checkpoint."""
        writes, self._journal = tuple(self._journal), []
        return writes

    def load(self, kind: str, entries: list[tuple[str, str]]) -> None:
        """Entries the store kept (oldest first), as saved by the methods above."""
        for key, value in entries:
            if kind == SENDERS:
                self.senders[key] = value
            elif kind == REACTIONS:
                room, sender, call, membership_key = json.loads(value)
                self.reactions[key] = HandReaction(
                    str(room), str(sender), bool(call), str(membership_key)
                )
            elif kind == DIRECT_ROOMS:
                self.direct_rooms.add(key)
            elif kind == CALL_MEMBERS:
                room, user, state_key = json.loads(value)
                self.call_members[key] = CallMembership(str(room), str(user), str(state_key))

    def adopt_legacy(self, reactions: str | None, direct_rooms: str | None) -> None:
        """Hands and direct chats an older version saved as JSON values, taken into the
        journal so that they move into the adapter memory table (then the values go)."""
        for row in json.loads(reactions) if reactions else []:
            event_id, room, sender, call, membership_key = row
            hand = HandReaction(str(room), str(sender), bool(call), str(membership_key))
            self.raise_hand(str(event_id), hand)
        for room_id in json.loads(direct_rooms) if direct_rooms else []:
            self.note_direct_room(str(room_id))

    def load_stack_messages(self, text: str | None) -> None:
        self.stack_messages.update(
            {str(room): str(event) for room, event in (json.loads(text) if text else {}).items()}
        )

    def stack_messages_json(self) -> str:
        return json.dumps(self.stack_messages, sort_keys=True)

    def is_bot_message(self, event_id: str, bot: str) -> bool:
        return self.senders.get(event_id) == bot or event_id in self.stack_messages.values()
