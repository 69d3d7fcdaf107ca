"""Matrix events become Signals: pure functions of nio events, room views and the adapter memory.

Every channel ends in the same `Signal`: a typed message (`parse`), a hand reaction on the
bot's stack message, an Element Call raised hand (a 🖐️ reaction on the sender's own call
membership), and a request in a direct chat (`parse_private`, fanned out per room). No I/O
here, so all of it is tested without a server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.app.items import Inbound, InRoom, Item, Notice, Private
from scorebot.core.ids import call_member_owner, is_user_id
from scorebot.core.model import Cue, Help, Join, Leave, Ouch, Person, Priority, Signal, Source
from scorebot.core.parse import (
    ParseContext,
    PrivateRequest,
    Unclear,
    is_hand,
    parse,
    parse_private,
    resolve_person,
)
from scorebot.core.render import private_help
from scorebot.matrix.memory import AdapterMemory, CallMembership, HandReaction
from scorebot.voice.cues import from_content, voice_signal

log = logging.getLogger(__name__)

CALL_MEMBER_TYPES = frozenset({"org.matrix.msc3401.call.member", "org.matrix.msc4143.rtc.member"})

UNREADABLE = (
    "I could not read your last message: it was encrypted with a key my device did not "
    "get. I have asked for the key; if nothing happens, please send it again."
)


@dataclass(frozen=True, slots=True)
class RoomView:
    """What conversion needs to know about one room, taken from nio's room state."""

    room_id: str
    members: Mapping[str, str] = field(default_factory=dict)
    """joined members: user id -> display name"""
    facilitators: frozenset[str] = frozenset()
    """members whose power level reaches the configured facilitator level"""
    direct: bool = False
    """a direct chat between the bot and one person"""
    names: tuple[str, ...] = ()
    """how a person may name the room in a direct chat: name, alias, display name"""

    @property
    def title(self) -> str:
        return self.names[0] if self.names else self.room_id

    def person(self, user_id: str) -> Person:
        return Person(user_id, self.members.get(user_id) or _localpart(user_id))


# Room versions before 12 rank creators only by m.room.power_levels; from 12 on (and in
# the hydra test versions) creators have unlimited power and are absent from that event.
_LEVEL_ONLY_VERSIONS = frozenset(str(n) for n in range(1, 12))


def room_view(
    room: Any,
    facilitator_level: int,
    direct_rooms: Iterable[str] = (),
    creators: Iterable[str] = (),
) -> RoomView:
    """A RoomView of a nio MatrixRoom (nio knows nothing of v12 creators: pass them)."""
    members = {
        user_id: str(room.user_name(user_id) or _localpart(user_id))
        for user_id, user in room.users.items()
        if not user.invited
    }
    facilitators = frozenset(
        user_id
        for user_id in members
        if room.power_levels.get_user_level(user_id) >= facilitator_level
    ) | frozenset(creators)
    names = tuple(
        dict.fromkeys(
            str(name) for name in (room.name, room.canonical_alias, room.display_name) if name
        )
    )
    count = room.joined_count + room.invited_count
    # Only rooms marked direct count: a new, unnamed meeting room that so far holds the
    # facilitator and the bot is still a meeting room.
    direct = room.room_id in set(direct_rooms) and count <= 2
    return RoomView(room.room_id, members, facilitators, direct, names)


def _localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def is_own_join(event: Any, bot: str) -> bool:
    """The bot's own join (not a profile change while already joined)."""
    return (
        isinstance(event, nio.RoomMemberEvent)
        and event.state_key == bot
        and event.membership == "join"
        and event.prev_membership != "join"
    )


def after_own_join(events: Sequence[Any], bot: str) -> list[Any]:
    """Drop timeline events from before the bot joined (history it must not act on)."""
    start = 0
    for index, event in enumerate(events):
        if is_own_join(event, bot):
            start = index + 1
    return list(events[start:])


def _relates_to(event: Any) -> Mapping[str, Any]:
    content = event.source.get("content") if isinstance(event.source, dict) else None
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    return relates if isinstance(relates, dict) else {}


def _reply_target(relates: Mapping[str, Any]) -> str | None:
    """The event id a message replies to; any other JSON shape means it replies to nothing."""
    in_reply_to = relates.get("m.in_reply_to")
    event_id = in_reply_to.get("event_id") if isinstance(in_reply_to, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None


def _call_membership_live(content: object) -> bool:
    """A membership that is in the call; empty content (or, in the MSC3401 form, an empty
    `memberships` list) is how a client leaves."""
    if not isinstance(content, dict) or not content:
        return False
    memberships = content.get("memberships", True)
    return not isinstance(memberships, list) or bool(memberships)


def _seconds(event: Any) -> float:
    return float(event.server_timestamp) / 1000.0


class Converter:
    """Turns one room's timeline events into queue items, remembering what it must."""

    def __init__(
        self,
        bot: str,
        memory: AdapterMemory,
        *,
        lanes: bool = True,
        trusted_microphones: Iterable[str] = (),
    ) -> None:
        self.bot = bot
        self.memory = memory
        self.lanes = lanes
        self.microphones = frozenset(trusted_microphones)

    # ------------------------------------------------------------ entry points

    def note_state(self, event: Any, room_id: str) -> None:
        """A state event from the sync's state block: learn call memberships, emit nothing."""
        if isinstance(event, nio.UnknownEvent) and event.type in CALL_MEMBER_TYPES:
            self._note_membership(event, room_id)
        elif (
            isinstance(event, nio.RoomCreateEvent)
            and str(event.room_version) not in _LEVEL_ONLY_VERSIONS
        ):
            content = event.source.get("content")
            extra = content.get("additional_creators") if isinstance(content, dict) else None
            # Only a list of user ids names creators; any other shape names nobody more.
            named = (
                [x for x in extra if isinstance(x, str) and is_user_id(x)]
                if isinstance(extra, list)
                else []
            )
            self.memory.creators[room_id] = frozenset([event.sender, *named])

    def convert(self, event: Any, view: RoomView, views: Mapping[str, RoomView]) -> list[Item]:
        """Items for one timeline event of `view`'s room; `views` are all joined rooms."""
        if isinstance(event, nio.RoomMessageText | nio.RoomMessageNotice) and not view.direct:
            # Only meeting rooms: who wrote privately is kept nowhere.
            self.memory.note_sender(event.event_id, event.sender)
        if event.sender == self.bot:
            return []
        if isinstance(event, nio.MegolmEvent):
            return self._undecryptable(event, view)
        if view.direct:
            if isinstance(event, nio.RoomMessageText):
                return self._private(event, view, views)
            return []
        if event.sender in self.microphones and isinstance(
            event, nio.RoomMessageNotice | nio.RoomMessageText
        ):
            return self._heard(event, view)
        if isinstance(event, nio.RoomMessageText):
            return self._message(event, view)
        if isinstance(event, nio.ReactionEvent):
            return self._reaction(event, view)
        if isinstance(event, nio.RedactionEvent):
            return self._redaction(event, view)
        if isinstance(event, nio.UnknownEvent) and event.type in CALL_MEMBER_TYPES:
            return self._membership(event, view)
        return []

    # ------------------------------------------------------------ room messages

    def _message(self, event: Any, view: RoomView) -> list[Item]:
        relates = _relates_to(event)
        if relates.get("rel_type") == "m.replace":
            return []  # an edit is not a new signal
        facilitator = event.sender in view.facilitators
        context = ParseContext(facilitator=facilitator, members=view.members)
        result = parse(str(event.body), context)
        if result is None:
            return []
        if isinstance(result, Unclear):
            destination = Private(event.sender) if result.private else InRoom(event.event_id)
            return [
                Notice(
                    event.event_id,
                    view.room_id,
                    result.message,
                    destination,
                    sender=event.sender,
                    at=_seconds(event),
                )
            ]
        cue: Cue = result
        if isinstance(cue, Ouch) and cue.at is None:
            replied = _reply_target(relates)
            target = self.memory.senders.get(replied) if replied else None
            # A reply can name any event id, from any room: aim only at someone in this room.
            if target is not None and target != self.bot and target in view.members:
                cue = Ouch(at=view.person(target), anonymous=cue.anonymous)
        signal = Signal(
            key=event.event_id,
            sender=view.person(event.sender),
            cue=cue,
            source=Source.CHAT,
            at=_seconds(event),
            facilitator=facilitator,
            room_name=view.names[0] if view.names else "",
        )
        return [Inbound(signal, view.room_id, InRoom(event.event_id))]

    # ------------------------------------------------------------ a trusted room microphone

    def _heard(self, event: Any, view: RoomView) -> list[Item]:
        """A cue a trusted room microphone heard. Anyone else's `org.scorebot.signal` is
        never read: their notice is ordinary chat, which the bot does not act on."""
        content = event.source.get("content", {}) if isinstance(event.source, dict) else {}
        heard = from_content(content)
        if heard is None or _relates_to(event).get("rel_type") == "m.replace":
            return []
        signal = voice_signal(
            heard,
            microphone=view.person(event.sender),
            members=view.members,
            at=_seconds(event),
            room_name=view.names[0] if view.names else "",
        )
        return [Inbound(signal, view.room_id, InRoom(event.event_id))]

    # ------------------------------------------------------------ hands

    def _reaction(self, event: Any, view: RoomView) -> list[Item]:
        if not is_hand(str(event.key)):
            return []
        membership = self.memory.call_members.get(event.reacts_to)
        if membership is not None:
            if membership.user != event.sender or membership.room != view.room_id:
                return []  # only your own hand on your own call membership counts
            hand = HandReaction(view.room_id, event.sender, True, membership.state_key)
            source = Source.CALL_HAND
        elif self.memory.is_bot_message(event.reacts_to, self.bot):
            hand = HandReaction(view.room_id, event.sender, False)
            source = Source.REACTION
        else:
            return []
        self.memory.raise_hand(event.event_id, hand)
        return [
            self._signal(
                event.event_id, event.sender, Join(), source=source, event=event, view=view
            )
        ]

    def _redaction(self, event: Any, view: RoomView) -> list[Item]:
        hand = self.memory.reactions.get(str(event.redacts))
        if hand is None or hand.room != view.room_id:
            return []
        self.memory.lower_hand(str(event.redacts))
        source = Source.CALL_HAND if hand.call else Source.REACTION
        return [
            self._signal(
                event.event_id, hand.sender, Leave(), source=source, event=event, view=view
            )
        ]

    def _note_membership(self, event: Any, room_id: str) -> str | None:
        """Remember a live call membership; return its state key if it ended.

        Only the owner of a state key may change it: the server checks the underscore
        forms for nobody, so anyone could otherwise end someone else's membership.
        """
        source = event.source if isinstance(event.source, dict) else {}
        state_key = source.get("state_key")
        if not isinstance(state_key, str) or call_member_owner(state_key) != event.sender:
            log.debug("ignored a call membership %s not owned by its sender", event.event_id)
            return None
        content = source.get("content")
        if _call_membership_live(content):
            self.memory.note_call_member(
                event.event_id, CallMembership(room_id, event.sender, state_key)
            )
            return None
        return state_key

    def _membership(self, event: Any, view: RoomView) -> list[Item]:
        ended = self._note_membership(event, view.room_id)
        if ended is None:
            return []
        raised = [
            (event_id, hand)
            for event_id, hand in self.memory.reactions.items()
            if hand.call and hand.room == view.room_id and hand.membership_key == ended
        ]
        for event_id, _ in raised:
            self.memory.lower_hand(event_id)
        senders = dict.fromkeys(hand.sender for _, hand in raised)
        return [
            self._signal(
                event.event_id if index == 0 else f"{event.event_id}/{sender}",
                sender,
                Leave(),
                source=Source.CALL_HAND,
                event=event,
                view=view,
            )
            for index, sender in enumerate(senders)
        ]

    def _signal(
        self, key: str, sender: str, cue: Cue, *, source: Source, event: Any, view: RoomView
    ) -> Inbound:
        signal = Signal(
            key=key,
            sender=view.person(sender),
            cue=cue,
            source=source,
            at=_seconds(event),
            facilitator=sender in view.facilitators,
            room_name=view.names[0] if view.names else "",
        )
        return Inbound(signal, view.room_id, InRoom())

    # ------------------------------------------------------------ direct chats

    def _private(self, event: Any, dm: RoomView, views: Mapping[str, RoomView]) -> list[Item]:
        sender = event.sender
        shared = [
            view
            for view in views.values()
            if not view.direct and sender in view.members and self.bot in view.members
        ]
        members: dict[str, str] = {}
        for view in shared:
            members.update(view.members)
        facilitates = any(sender in view.facilitators for view in shared)
        context = ParseContext(facilitator=facilitates, members=members)
        result = parse_private(str(event.body), context)
        if result is None:
            return []
        if isinstance(result, Unclear):
            return [_answer(event, dm, result.message)]
        if isinstance(result.cue, Help):
            return [_answer(event, dm, private_help(facilitates).text)]
        targets = _target_rooms(result, shared)
        if isinstance(targets, str):
            return [_answer(event, dm, targets)]
        items: list[Item] = []
        for view in targets:
            cue = result.cue
            if result.name is not None and isinstance(cue, Priority):
                who = resolve_person(result.name, view.members, allow_guests=False)
                if isinstance(who, Unclear):
                    items.append(_answer(event, dm, who.message, view.room_id))
                    continue
                cue = Priority(cue.on, who=who, keep=cue.keep)
            signal = Signal(
                key=f"{event.event_id}/{view.room_id}",
                sender=view.person(sender),
                cue=cue,
                source=Source.DIRECT,
                at=_seconds(event),
                facilitator=sender in view.facilitators,
                room_name=view.names[0] if view.names else "",
            )
            reply = Private(sender, dm.room_id, event.event_id)
            items.append(Inbound(signal, view.room_id, reply))
        return items

    # ------------------------------------------------------------ encryption trouble

    def _undecryptable(self, event: Any, view: RoomView) -> list[Item]:
        log.warning(
            "cannot decrypt %s from %s in %s (session %s)",
            event.event_id,
            event.sender,
            view.room_id,
            event.session_id,
        )
        if event.session_id in self.memory.told_sessions:
            return []
        self.memory.told_sessions[event.session_id] = True
        notice = Notice(
            event.event_id,
            view.room_id,
            UNREADABLE,
            InRoom(event.event_id),
            (event.sender,),
            sender=event.sender,
            at=_seconds(event),
        )
        return [notice]


def _answer(event: Any, dm: RoomView, text: str, about: str = "") -> Notice:
    """A plain answer in the direct chat, threaded to the request (`about`: for which room),
    with who sent the request and when (for fairness)."""
    key = f"{event.event_id}/{about}" if about else event.event_id
    return Notice(
        key, dm.room_id, text, InRoom(event.event_id), sender=event.sender, at=_seconds(event)
    )


def _target_rooms(request: PrivateRequest, shared: Sequence[RoomView]) -> list[RoomView] | str:
    """The meeting rooms a private request is for, or a plain question back."""
    if not shared:
        return (
            "We do not share a meeting room yet. Invite me to your meeting room first. "
            "Nothing was changed."
        )
    if request.room is not None:
        wanted = request.room.casefold().strip()
        found = [
            view
            for view in shared
            if view.room_id.casefold() == wanted
            or any(name.casefold() == wanted for name in view.names)
        ]
        if not found:
            found = [
                view
                for view in shared
                if any(name.casefold().startswith(wanted) for name in view.names)
            ]
        if len(found) == 1:
            return found
        listed = ", ".join(f'"{view.title}"' for view in shared)
        if not found:
            return (
                f'I do not share a room called "{request.room}" with you. '
                f"Our rooms: {listed}. Nothing was changed."
            )
        return f'More than one room matches "{request.room}": {listed}. Nothing was changed.'
    if len(shared) > 1 and isinstance(request.cue, Ouch):
        listed = ", ".join(f'"{view.title}"' for view in shared)
        return (
            f"Which meeting is this for? We share {listed}. Send for example: "
            f"ouch in {shared[0].title}. Nothing was changed."
        )
    return list(shared)
