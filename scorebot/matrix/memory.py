"""What the adapter remembers between events: recent senders, hand reactions, call members.

Bounded, so a long-running bot does not grow. Hand reactions (and the rooms known to be
direct chats) are saved as small JSON values through the store, so a hand lowered after
a restart (a redaction) still finds the hand it lowers.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

REACTIONS_VALUE = "matrix.reactions"
DIRECT_ROOMS_VALUE = "matrix.direct_rooms"
STACK_MESSAGES_VALUE = "matrix.stack_messages"

RECENT_LIMIT = 2000
"""messages whose sender we remember, for "ouch" as a reply and for hands on our messages"""
REACTION_LIMIT = 5000

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
    """The adapter's small state; `dirty` says the reactions need saving."""

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
        self.dirty = False

    def reactions_json(self) -> str:
        return json.dumps(
            [
                [event_id, hand.room, hand.sender, hand.call, hand.membership_key]
                for event_id, hand in self.reactions.items()
            ]
        )

    def load_reactions(self, text: str | None) -> None:
        for row in json.loads(text) if text else []:
            event_id, room, sender, call, membership_key = row
            self.reactions[str(event_id)] = HandReaction(
                str(room), str(sender), bool(call), str(membership_key)
            )

    def load_direct_rooms(self, text: str | None) -> None:
        self.direct_rooms.update(str(room) for room in (json.loads(text) if text else []))

    def direct_rooms_json(self) -> str:
        return json.dumps(sorted(self.direct_rooms))

    def load_stack_messages(self, text: str | None) -> None:
        self.stack_messages.update(
            {str(room): str(event) for room, event in (json.loads(text) if text else {}).items()}
        )

    def stack_messages_json(self) -> str:
        return json.dumps(self.stack_messages, sort_keys=True)

    def is_bot_message(self, event_id: str, bot: str) -> bool:
        return self.senders.get(event_id) == bot or event_id in self.stack_messages.values()
