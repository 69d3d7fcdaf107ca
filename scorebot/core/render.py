"""Every core event as a short message in plain words: pure, no I/O, no clock, no logging.

Privacy: private priority is only ever told to the person who sent the signal. No room
message names it or gives a reason for anyone's place on the stack.
"""

from __future__ import annotations

import enum
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import assert_never

from scorebot.core import catalogue
from scorebot.core import events as ev
from scorebot.core.ids import is_matrix_person
from scorebot.core.markup import (
    Block,
    Items,
    Part,
    compose,
    count,
    duration,
    fmt,
    joined,
    name,
    ordinal,
    p,
    strong,
    who,
)
from scorebot.core.minutes import (
    LANE_NAMES,
    Record,
    clock,
    look_alikes,
    people,
    room_name,
    to_markdown,
)
from scorebot.core.minutes import line as minutes_line
from scorebot.core.model import IN_ROOM, Lane, Person, Pin, Signal, Source, StackAction
from scorebot.core.rules import POLICY, Where, lanes_a_closed_stack_takes


class Audience(enum.Enum):
    ROOM = "room"
    """posted in the meeting room, as a reply to the signal when it came from the room"""
    SENDER = "sender"
    """only to the person who sent the signal, privately"""


class ReplyKind(enum.StrEnum):
    """What a reply is, for the adapter (which replies refresh the stack message)."""

    MEETING_STARTED = "meeting_started"
    MEETING_ENDED = "meeting_ended"
    TOPIC = "topic"
    PINS = "pins"
    JOINED = "joined"
    RENAMED = "renamed"
    ALREADY_ON = "already_on"
    LEFT = "left"
    NOT_ON = "not_on"
    STEPPED_BACK = "stepped_back"
    CALLED = "called"
    UP_NEXT = "up_next"
    TURN_ENDED = "turn_ended"
    STACK_EMPTY = "stack_empty"
    MOVED = "moved"
    CLEARED = "cleared"
    UNDONE = "undone"
    CLOSED = "closed"
    OPENED = "opened"
    LANES = "lanes"
    HEADS_UP = "heads_up"
    OUCH = "ouch"
    OOPS = "oops"
    RESOLVED = "resolved"
    NO_PIN = "no_pin"
    PRIVATE_NOTE = "private_note"
    FACILITATOR = "facilitator"
    STATUS = "status"
    WHERE = "where"
    HELP = "help"
    MINUTES = "minutes"
    MINUTES_DOCUMENT = "minutes_document"
    WRAP_UP = "wrap_up"
    REFUSED = "refused"
    CONFIRM = "confirm"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    """the complete message: screen readers and notification previews read only this"""
    html: str
    """the same message with structure and mention pills, and nothing more"""
    audience: Audience
    mentions: tuple[str, ...]
    """Matrix user ids to notify (`m.mentions`); never a guest"""
    kind: ReplyKind


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What rendering needs beyond the event: who sent the signal, and how."""

    sender: Person
    source: Source
    private: bool = False
    """the signal came as a private message: answers go back privately"""
    bot_name: str = "scorebot"
    lanes: bool = True
    """lanes are switched on in the meeting (after the signal)"""

    @staticmethod
    def for_signal(signal: Signal, bot_name: str = "scorebot", lanes: bool = True) -> RenderContext:
        private = signal.source is Source.DIRECT
        return RenderContext(signal.sender, signal.source, private, bot_name, lanes)


OVERVIEW_KINDS = frozenset({ReplyKind.STATUS})
"""Replies that carry the whole stack, in order (the editable stack message)."""

STACK_CHANGED_KINDS = frozenset(
    {
        ReplyKind.MEETING_STARTED,
        ReplyKind.MEETING_ENDED,
        ReplyKind.TOPIC,
        ReplyKind.JOINED,
        ReplyKind.RENAMED,
        ReplyKind.LEFT,
        ReplyKind.STEPPED_BACK,
        ReplyKind.CALLED,
        ReplyKind.TURN_ENDED,
        ReplyKind.STACK_EMPTY,
        ReplyKind.MOVED,
        ReplyKind.CLEARED,
        ReplyKind.UNDONE,
        ReplyKind.CLOSED,
        ReplyKind.OPENED,
        ReplyKind.LANES,
    }
)
"""Replies after which the stack message is out of date. "private_note" is deliberately
absent: refreshing the public stack right after a private message would give it away."""


# ---------------------------------------------------------------- replies


def _mentions(people: Iterable[Person | None], besides: Person | None = None) -> tuple[str, ...]:
    ids: list[str] = []
    for person in people:
        if person is None or not is_matrix_person(person.id) or person.id in ids:
            continue
        if besides is not None and person.id == besides.id:
            continue
        ids.append(person.id)
    return tuple(ids)


def _reply(
    blocks: Sequence[Block], audience: Audience, kind: ReplyKind, mentions: tuple[str, ...] = ()
) -> Reply:
    text, markup = compose(blocks)
    return Reply(text, markup, audience, mentions if audience is Audience.ROOM else (), kind)


def _public(
    ctx: RenderContext, blocks: Sequence[Block], kind: ReplyKind, mentions: tuple[str, ...] = ()
) -> list[Reply]:
    """Something the room must know; a private sender also gets a copy as confirmation."""
    room = _reply(blocks, Audience.ROOM, kind, mentions)
    if not ctx.private:
        return [room]
    confirm = Reply(
        f"Done. I told the room: {room.text}",
        f"Done. I told the room:<blockquote>{room.html}</blockquote>",
        Audience.SENDER,
        (),
        ReplyKind.CONFIRM,
    )
    return [room, confirm]


def _answer(
    ctx: RenderContext, blocks: Sequence[Block], kind: ReplyKind, mentions: tuple[str, ...] = ()
) -> list[Reply]:
    """An answer for the sender: in the room if they asked there, else privately."""
    audience = Audience.SENDER if ctx.private else Audience.ROOM
    return [_reply(blocks, audience, kind, mentions)]


def _you(person: Person, ctx: RenderContext) -> bool:
    return person.id == ctx.sender.id


def _lane_for(lane: Lane) -> str:
    return "" if lane is Lane.REGULAR else f" for a {LANE_NAMES[lane]}"


def _place(position: int, size: int) -> str:
    return f"{ordinal(position)} of {size}"


def _meeting_name(title: str, number: int) -> str:
    return name(title) or f"meeting {number}"


def _totals(totals: Sequence[ev.SpeakingTotal], scope: str) -> Part:
    if not totals:
        return p(f"Speaking time {scope}: nobody has spoken yet.")
    ordered = sorted(totals, key=lambda t: (-t.seconds, name(t.person.name)))
    parts = [
        p(who(t.person), f" {duration(t.seconds)} over {count(t.turns, 'turn')}") for t in ordered
    ]
    return p(f"Speaking time {scope}: ", joined(parts, ", "), ".")


def _aimed(pin: Pin) -> Part:
    """ "aimed at Jo" or "aimed at nobody in particular"."""
    if pin.at_person is None:
        return p("aimed at nobody in particular")
    return fmt("aimed at {who}", who=who(pin.at_person))


def _pin_line(pin: Pin, sender: bool = True) -> Part:
    """ "pin 1, from Maria, aimed at Jo (oops said)"; the stack overview leaves out who
    pinned it, so it never stands next to an anonymous pin in the same list."""
    return fmt(
        "pin {id}{by}, {aimed}{ack}",
        id=pin.id,
        by=fmt(", from {by}", by=who(pin.by) if pin.by is not None else "someone")
        if sender
        else "",
        aimed=_aimed(pin),
        ack=" (oops said)" if pin.oops_at is not None else "",
    )


# ---------------------------------------------------------------- events


def render(event: ev.Event, context: RenderContext) -> list[Reply]:
    """The replies for one event: one or two, never none."""
    ctx = context
    match event:
        case ev.MeetingStarted():
            return _meeting_started(event, ctx)
        case ev.MeetingEnded():
            return _meeting_ended(event, ctx)
        case ev.TopicStarted():
            return _topic_started(event, ctx)
        case ev.PinsToDiscuss():
            return _pins_to_discuss(event, ctx)
        case ev.Joined():
            return _joined_stack(event, ctx)
        case ev.Renamed():
            return _renamed(event, ctx)
        case ev.AlreadyOnStack():
            return _already_on_stack(event, ctx)
        case ev.Left():
            return _left(event, ctx)
        case ev.NotOnStack():
            return _not_on_stack(event, ctx)
        case ev.SteppedBack():
            return _stepped_back(event, ctx)
        case ev.Called():
            return _called(event, ctx)
        case ev.UpNext():
            line = fmt("{who}, you are next.", who=who(event.person))
            return _public(ctx, [line], ReplyKind.UP_NEXT, _mentions([event.person]))
        case ev.TurnEnded():
            line = fmt(
                "{who}'s turn ended after {time}.",
                who=who(event.person),
                time=duration(event.seconds),
            )
            return _public(ctx, [line], ReplyKind.TURN_ENDED)
        case ev.StackEmpty():
            line = fmt('Nobody is waiting on the stack. Say "stack" to speak.')
            return _public(ctx, [line], ReplyKind.STACK_EMPTY)
        case ev.Moved():
            line = fmt(
                "{by} moved {who} to {place} on the stack.",
                by=who(ctx.sender),
                who=who(event.person),
                place=_place(event.position, event.size),
            )
            return _public(
                ctx, [line], ReplyKind.MOVED, _mentions([event.person], besides=ctx.sender)
            )
        case ev.Cleared():
            return _cleared(event, ctx)
        case ev.Undone():
            return _undone(event, ctx)
        case ev.StackClosed():
            return _stack_closed(ctx)
        case ev.StackOpened():
            line = fmt('{by} opened the stack again: say "stack" to join.', by=who(ctx.sender))
            return _public(ctx, [line], ReplyKind.OPENED)
        case ev.LanesChanged():
            return _lanes_changed(event, ctx)
        case ev.HeadsUpChanged():
            return _heads_up_changed(event, ctx)
        case ev.OuchPinned():
            return _ouch_pinned(event, ctx)
        case ev.OopsAcknowledged():
            return _oops(event, ctx)
        case ev.PinResolved():
            line = fmt(
                "Ouch pin {id}, {aimed}, is resolved: the harm has been talked about. The minutes"
                " note it.",
                id=event.pin.id,
                aimed=_aimed(event.pin),
            )
            return _public(ctx, [line], ReplyKind.RESOLVED)
        case ev.NoOpenPin():
            line = fmt("There is no open ouch now, so there is nothing to answer or resolve.")
            return _answer(ctx, [line], ReplyKind.NO_PIN)
        case ev.PriorityNoted():
            return _priority_noted(event)
        case ev.FacilitatorNamed():
            return _facilitator_named(event, ctx)
        case ev.StatusShown():
            return _answer(ctx, status_blocks(event, ctx.lanes), ReplyKind.STATUS)
        case ev.WhereShown():
            return _where(event, ctx)
        case ev.HelpShown():
            blocks = _private_help(event.facilitator) if ctx.private else _room_help(event, ctx)
            return _answer(ctx, blocks, ReplyKind.HELP)
        case ev.MinutesAsked():
            return _minutes(event, ctx)
        case ev.WrapUpReminded():
            line = fmt(
                "Time check: {who}, you have spoken for {time}. Please start to wrap up.",
                who=who(event.person),
                time=duration(event.seconds),
            )
            return _public(ctx, [line], ReplyKind.WRAP_UP, _mentions([event.person]))
        case (
            ev.NotAllowed()
            | ev.NoMeetingRunning()
            | ev.MeetingRunning()
            | ev.NotSpeaker()
            | ev.NoSuchPlace()
            | ev.NoSuchPin()
            | ev.StackIsClosed()
            | ev.NothingToUndo()
            | ev.OuchAimedElsewhere()
            | ev.NobodyBehind()
            | ev.NoRoomEntry()
        ):
            return _refused(event, ctx)
        case _:
            assert_never(event)


def render_all(events: Iterable[ev.Event], context: RenderContext) -> list[Reply]:
    """The replies for one signal's events, in order."""
    return [reply for event in events for reply in render(event, context)]


def _meeting_started(event: ev.MeetingStarted, ctx: RenderContext) -> list[Reply]:
    title = name(event.title)
    if title:
        opening = fmt("Meeting started: {title} (meeting {n}).", title=title, n=event.number)
    else:
        opening = fmt("Meeting {n} has started.", n=event.number)
    line = fmt(
        '{opening} Minutes are kept, and every ouch and oops is in them. Say "stack" to speak,'
        ' or "help" for more.',
        opening=opening,
    )
    return _public(ctx, [line], ReplyKind.MEETING_STARTED)


def _meeting_ended(event: ev.MeetingEnded, ctx: RenderContext) -> list[Reply]:
    if event.left_on_stack:
        left = f"{count(event.left_on_stack, 'person was', 'people were')} still on the stack."
    else:
        left = "Nobody was left waiting on the stack."
    blocks: list[Block] = [
        fmt(
            "Meeting ended: {name}. Thank you, everyone.",
            name=_meeting_name(event.title, event.number),
        ),
        _totals(event.totals, "this meeting"),
        fmt('{left} The minutes are kept. Say "minutes" to get them.', left=left),
    ]
    return _public(ctx, blocks, ReplyKind.MEETING_ENDED)


def _topic_started(event: ev.TopicStarted, ctx: RenderContext) -> list[Reply]:
    title = name(event.title)
    if event.carried_over:
        waiting = f"{count(event.carried_over, 'person is', 'people are')} still on the stack."
    else:
        waiting = "The stack is empty."
    line = fmt(
        "{opening} {waiting} Speaking time starts again for this topic.",
        opening=fmt("New topic: {title}.", title=title) if title else "New topic.",
        waiting=waiting,
    )
    return _public(ctx, [line], ReplyKind.TOPIC)


def _pins_to_discuss(event: ev.PinsToDiscuss, ctx: RenderContext) -> list[Reply]:
    ouches = count(len(event.pins), "open ouch", "open ouches")
    them = "it" if len(event.pins) == 1 else "them"
    pins = Items(tuple(_pin_line(pin) for pin in event.pins))
    if event.moment is ev.Moment.MEETING:
        head = fmt(
            "The meeting is ending with {ouches} not yet resolved. The minutes note {them}, to"
            " talk about next time:",
            ouches=ouches,
            them=them,
        )
        return _public(ctx, [head, pins], ReplyKind.PINS)
    head = fmt("Before we move on: {ouches} to talk about:", ouches=ouches)
    tail = fmt('A facilitator says "resolved 1" when pin 1 has been talked about.')
    return _public(ctx, [head, pins, tail], ReplyKind.PINS)


_SEEN = {
    Source.CALL_HAND: " Your raised hand in the call was seen.",
    Source.REACTION: " Your hand reaction was seen.",
    Source.VOICE: " This was heard by voice.",
}


def _joined_stack(event: ev.Joined, ctx: RenderContext) -> list[Reply]:
    if event.lane_changed and event.lane is Lane.REGULAR:
        where = "on the regular stack"
    else:
        where = f"on the stack{_lane_for(event.lane)}"
    values: dict[str, Part | str | int] = {
        "who": who(event.person),
        "where": where,
        "place": _place(event.position, event.size),
        "lanes": " Lanes are off in this meeting, so everyone is on one stack."
        if event.lanes_off
        else "",
    }
    # People who did not type it themselves are told: put on by someone else, or by a hand
    # raised in the call or a spoken cue, where they may not be watching the chat.
    if event.by is not None:
        template = "{by} put {who} {where}{instead}: {place}.{lanes}"
        values |= {"by": who(event.by), "instead": " instead" if event.lane_changed else ""}
        mentions = _mentions([event.person], besides=event.by)
    else:
        template = "{who}, you are{now} {where}: {place}.{seen}{lanes}"
        values |= {"now": " now" if event.lane_changed else "", "seen": _SEEN.get(event.source, "")}
        called_out = event.source in (Source.CALL_HAND, Source.VOICE)
        mentions = _mentions([event.person]) if called_out else ()
    return _public(ctx, [fmt(template, **values)], ReplyKind.JOINED, mentions)


def _renamed(event: ev.Renamed, ctx: RenderContext) -> list[Reply]:
    if event.position is None:
        template = '{by} gave "{old}" a name: {who}, who is speaking now.'
        place = ""
    else:
        template = '{by} gave "{old}" a name: {who}, now {place}.'
        place = _place(event.position, event.size)
    line = fmt(
        template,
        by=who(ctx.sender),
        old=f"{IN_ROOM} {event.number}",
        who=who(event.person),
        place=place,
    )
    mentions = _mentions([event.person], besides=ctx.sender)
    return _public(ctx, [line], ReplyKind.RENAMED, mentions)


def _already_on_stack(event: ev.AlreadyOnStack, ctx: RenderContext) -> list[Reply]:
    lane = "" if event.lane is Lane.REGULAR else f", for a {LANE_NAMES[event.lane]}"
    template = "{who}, you are already {nth} on the stack{lane}."
    if not _you(event.person, ctx):
        template = "{who} is already {nth} on the stack{lane}."
    line = fmt(template, who=who(event.person), nth=ordinal(event.position), lane=lane)
    return _answer(ctx, [line], ReplyKind.ALREADY_ON)


def _left(event: ev.Left, ctx: RenderContext) -> list[Reply]:
    if event.by is None:
        return _public(ctx, [fmt("{who} left the stack.", who=who(event.person))], ReplyKind.LEFT)
    line = fmt("{by} took {who} off the stack.", by=who(event.by), who=who(event.person))
    return _public(ctx, [line], ReplyKind.LEFT, _mentions([event.person], besides=event.by))


def _not_on_stack(event: ev.NotOnStack, ctx: RenderContext) -> list[Reply]:
    if event.asked_by_self:
        template = '{who}, you are not on the stack. Say "stack" to join.'
    else:
        template = '{who} is not on the stack. Say "status" to see who is.'
    return _answer(ctx, [fmt(template, who=who(event.person))], ReplyKind.NOT_ON)


def _stepped_back(event: ev.SteppedBack, ctx: RenderContext) -> list[Reply]:
    template = (
        "{who} went to the back of their lane: now {place}."
        if event.to_end
        else "{who} let the next person go first: now {place}."
    )
    line = fmt(template, who=who(event.person), place=_place(event.position, event.size))
    return _public(ctx, [line], ReplyKind.STEPPED_BACK)


def _called(event: ev.Called, ctx: RenderContext) -> list[Reply]:
    floor = strong(
        fmt("{who}, you have the floor{lane}.", who=who(event.person), lane=_lane_for(event.lane))
    )
    if event.up_next is None:
        line = fmt("{floor} Nobody else is on the stack.", floor=floor)
        return _public(ctx, [line], ReplyKind.CALLED, _mentions([event.person]))
    waiting = ""
    if event.remaining > 1:
        waiting = f" {count(event.remaining, 'person is', 'people are')} waiting."
    # The heads-up: the next person is mentioned by name, so their client announces it.
    template = (
        "{floor} {next}, you are next.{waiting}"
        if event.heads_up
        else "{floor} Next up: {next}.{waiting}"
    )
    line = fmt(template, floor=floor, next=who(event.up_next), waiting=waiting)
    people = [event.person, event.up_next] if event.heads_up else [event.person]
    return _public(ctx, [line], ReplyKind.CALLED, _mentions(people))


def _cleared(event: ev.Cleared, ctx: RenderContext) -> list[Reply]:
    if not event.removed:
        return _public(ctx, [fmt("The stack was already empty.")], ReplyKind.CLEARED)
    line = fmt(
        '{by} cleared the stack: {people} {were} taken off. Say "stack" to join again.',
        by=who(ctx.sender),
        people=joined([who(person) for person in event.removed]),
        were="was" if len(event.removed) == 1 else "were",
    )
    return _public(ctx, [line], ReplyKind.CLEARED)


_UNDONE = {
    StackAction.PUT_ON: "{by} putting {who} on the stack",
    StackAction.TOOK_OFF: "{by} taking {who} off the stack",
    StackAction.MOVED: "{by} moving {who}",
    StackAction.CLEARED: "{by} clearing the stack",
}


def _undone(event: ev.Undone, ctx: RenderContext) -> list[Reply]:
    person = who(event.person) if event.person is not None else p("")
    action = fmt(_UNDONE[event.action], by=who(event.by), who=person)
    line = fmt(
        "{me} undid {action}. The stack is back as it was.", me=who(ctx.sender), action=action
    )
    return _public(ctx, [line], ReplyKind.UNDONE)


def _closed_except(lanes: bool) -> str:
    """Rule 6 in words, from the policy table."""
    takes = lanes_a_closed_stack_takes(lanes)
    if not takes:
        return ""
    return ", except for a " + " or a ".join(LANE_NAMES[lane] for lane in takes)


def _stack_closed(ctx: RenderContext) -> list[Reply]:
    line = fmt(
        '{by} closed the stack: nobody new can join now{rest}. A facilitator can say "open stack"'
        " to open it again.",
        by=who(ctx.sender),
        rest=_closed_except(ctx.lanes),
    )
    return _public(ctx, [line], ReplyKind.CLOSED)


def _lanes_changed(event: ev.LanesChanged, ctx: RenderContext) -> list[Reply]:
    if event.enabled:
        template = (
            '{by} switched lanes on. Say "stack process" for a point of process, "clarify" for a'
            ' clarifying question, or "direct" for a direct response. These go ahead of the'
            " regular stack."
        )
    else:
        template = "{by} switched lanes off: everyone is on one stack."
    return _public(ctx, [fmt(template, by=who(ctx.sender))], ReplyKind.LANES)


def _heads_up_changed(event: ev.HeadsUpChanged, ctx: RenderContext) -> list[Reply]:
    if event.enabled:
        template = "{by} switched the heads-up on: I will tell the next person that they are next."
    else:
        template = "{by} switched the heads-up off: I will not call out who is next."
    return _public(ctx, [fmt(template, by=who(ctx.sender))], ReplyKind.HEADS_UP)


def _ouch_pinned(event: ev.OuchPinned, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    if pin.at_person is not None:
        answer = fmt('{who}, if it was you, say "oops"', who=who(pin.at_person))
    else:
        answer = fmt('Whoever it is about can say "oops {id}"', id=pin.id)
    line = fmt(
        "{noted} from {by}, {aimed}. {answer} to own up to it. We talk about it after this"
        " discussion, and the minutes note it.",
        noted=strong(fmt("Ouch noted as pin {id}", id=pin.id)),
        by=who(pin.by) if pin.by is not None else "someone",
        aimed=_aimed(pin),
        answer=answer,
    )
    mentions = _mentions([pin.at_person])
    if ctx.private and pin.by is None:
        note = fmt(
            "Your ouch is noted as pin {id}. The room sees it as from someone: your name is not"
            " shown, and it is not kept anywhere.",
            id=pin.id,
        )
        return [
            _reply([line], Audience.ROOM, ReplyKind.OUCH, mentions),
            _reply([note], Audience.SENDER, ReplyKind.CONFIRM),
        ]
    return _public(ctx, [line], ReplyKind.OUCH, mentions)


def _oops(event: ev.OopsAcknowledged, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    claimed = pin.at_person is not None and pin.at_person.id != event.by.id
    line = fmt(
        "{by} said oops for ouch pin {id}{aimed}. The pin stays open until it has been talked"
        " about, and the minutes note it.",
        by=who(event.by),
        id=pin.id,
        aimed=fmt(" ({aimed})", aimed=_aimed(pin)) if claimed else "",
    )
    return _public(ctx, [line], ReplyKind.OOPS, _mentions([pin.by], besides=event.by))


def _priority_noted(event: ev.PriorityNoted) -> list[Reply]:
    # Private by rule: to the sender alone, even when the signal was typed in the room.
    until = "this meeting ends" if event.meeting_running else "the next meeting ends"
    if event.by_facilitator and event.on:
        template = (
            "Noted, privately: {who} has priority on the stack until {until}, unless they have"
            " already spoken a lot in the topic."
        )
    elif event.by_facilitator:
        template = "Noted, privately: {who} no longer has priority on the stack."
    elif event.on:
        template = (
            "Noted, privately. When you join the stack you go higher, unless you have already"
            " spoken a lot in the topic.{keep}"
        )
    else:
        template = "Done, privately: you no longer have priority, now or in later meetings."
    keep = " I will keep it for later meetings in this room." if event.keep else ""
    if event.on and not event.by_facilitator:
        keep = keep or f" It lasts until {until}."
        template += ' Send me "priority off" to stop it.'
    template += (
        " The order changes at the next change to the stack. Nobody else is told, and it is"
        " not in the minutes."
    )
    line = fmt(template, who=who(event.person), keep=keep, until=until)
    return [_reply([line], Audience.SENDER, ReplyKind.PRIVATE_NOTE)]


def _facilitator_named(event: ev.FacilitatorNamed, ctx: RenderContext) -> list[Reply]:
    if event.on:
        template = (
            "{by} made {who} a facilitator here. They can now call on people and run the meeting."
        )
    else:
        template = (
            "{who} is no longer a named facilitator here. People with moderator rights can still"
            " run the meeting."
        )
    line = fmt(template, by=who(ctx.sender), who=who(event.person))
    return _public(
        ctx, [line], ReplyKind.FACILITATOR, _mentions([event.person], besides=ctx.sender)
    )


def status_blocks(event: ev.StatusShown, lanes: bool = True) -> list[Block]:
    """The stack overview: who speaks, who waits with their place in words, open pins and
    speaking time. No reasons."""
    if not event.active:
        blocks: list[Block] = [
            fmt(
                'No meeting is running. Saying "stack" starts one and puts you on the stack. A'
                ' facilitator can say "start meeting TITLE".'
            )
        ]
    else:
        title, topic = name(event.title), name(event.topic)
        blocks = [
            fmt(
                "{title}{topic}",
                title=f"Meeting: {title}." if title else "A meeting is running.",
                topic=f" Topic: {topic}." if topic else "",
            )
        ]
    if event.speaker is not None:
        blocks.append(
            fmt(
                "{who} has the floor ({time} so far).",
                who=strong(who(event.speaker)),
                time=duration(event.speaker_seconds),
            )
        )
    elif event.active:
        blocks.append(fmt("Nobody has the floor."))
    if event.stack:
        blocks.append(
            fmt("On the stack, in order ({n}):", n=count(len(event.stack), "person", "people"))
        )
        lines = tuple(
            fmt(
                "{place}: {who}{lane}",
                place=ordinal(line.position),
                who=who(line.person),
                lane="" if line.lane is Lane.REGULAR else f", {LANE_NAMES[line.lane]}",
            )
            for line in event.stack
        )
        blocks.append(Items(lines))
    elif event.active:
        blocks.append(fmt("Nobody is on the stack."))
    if event.closed:
        blocks.append(fmt("The stack is closed to new people{rest}.", rest=_closed_except(lanes)))
    if event.pins:
        ouches = count(len(event.pins), "open ouch", "open ouches")
        blocks.append(fmt("{ouches} to talk about:", ouches=ouches))
        blocks.append(Items(tuple(_pin_line(pin, sender=False) for pin in event.pins)))
    if event.active:
        blocks.append(_totals(event.totals, "this topic"))
    return blocks


def _where(event: ev.WhereShown, ctx: RenderContext) -> list[Reply]:
    if event.speaking and event.position is not None:
        template = "{who}, you have the floor, and you are also {place} on the stack."
    elif event.speaking:
        template = "{who}, you have the floor."
    elif event.position is not None:
        template = "{who}, you are {place} on the stack."
    else:
        template = '{who}, you are not on the stack. Say "stack" to join.'
    place = _place(event.position or 0, event.size)
    lines = [fmt(template, who=who(event.person), place=place)]
    if event.position is not None and event.position > 1:
        lines.append(_why_ahead(event))
    return _answer(ctx, lines, ReplyKind.WHERE)


def _why_ahead(event: ev.WhereShown) -> Part:
    """Why people are ahead, without ever saying which rule lifted whom."""
    ahead = (event.position or 1) - 1
    by_rules = ahead - event.ahead_by_lane - event.ahead_placed
    reasons = []
    if event.ahead_by_lane:
        reasons.append(f"{count(event.ahead_by_lane, 'person', 'people')} in a more urgent lane")
    if event.ahead_placed:
        reasons.append(f"{count(event.ahead_placed, 'person', 'people')} placed by a facilitator")
    if by_rules:
        reasons.append(
            f"{count(by_rules, 'person', 'people')} by the progressive stack's rules"
            ' ("help" has them)'
        )
    return fmt("Ahead of you: {reasons}.", reasons="; ".join(reasons))


# ---------------------------------------------------------------- help, from the catalogue


def _help_items(lines: Iterable[catalogue.HelpLine]) -> Items:
    items = []
    for line in lines:
        forms = [fmt(f'"{line.say}"'), *(fmt(f'"{also}"') for also in line.also)]
        items.append(p(joined(forms, " or "), ": ", fmt(line.does)))
    return Items(tuple(items))


def _room_help(event: ev.HelpShown, ctx: RenderContext) -> list[Block]:
    blocks: list[Block] = [
        fmt("What you can type:"),
        _help_items(catalogue.room_lines(facilitator=False, lanes=event.lanes)),
        fmt(
            "You can also join with a hand reaction ✋ on the stack message, or by raising your"
            " hand in the call."
        ),
        fmt(
            'For private options, send {bot} a private message saying "help".',
            bot=name(ctx.bot_name) or "the bot",
        ),
    ]
    if event.facilitator:
        blocks += [
            fmt("For facilitators:"),
            _help_items(catalogue.room_lines(facilitator=True, lanes=event.lanes)),
        ]
    return blocks


def _private_help(facilitator: bool, understood: bool = True) -> list[Block]:
    opening = (
        "In this private chat you can send:"
        if understood
        else ("I did not understand that. In this private chat you can send:")
    )
    return [
        fmt(opening),
        _help_items(catalogue.private_lines(facilitator)),
        fmt('In the meeting room, say "help" for the words that work there.'),
    ]


STORAGE_DOWN = (
    "I cannot save to disk right now, so I am holding what you send until I can. "
    "Nothing is lost so far."
)
"""said once in each room with a running meeting when saving fails"""
STORAGE_BACK = "I can save to disk again. I am now answering what you sent while I could not."
"""said in the same rooms when saving works again"""


def private_help(facilitator: bool, understood: bool = True) -> Reply:
    """The private help, for the adapter to send in a direct chat (`understood=False`
    after a message it could not read)."""
    return _reply(_private_help(facilitator, understood), Audience.SENDER, ReplyKind.HELP)


def _minutes(event: ev.MinutesAsked, ctx: RenderContext) -> list[Reply]:
    if event.number == 0:
        line = fmt("No meeting has been held in this room yet, so there are no minutes.")
    else:
        line = fmt(
            "Minutes are kept for meeting {n}, and every ouch and oops is in them. Here are the"
            " minutes so far.",
            n=event.number,
        )
    return _answer(ctx, [line], ReplyKind.MINUTES)


def minutes_document(
    title: str, room: str, number: int, lines: Sequence[Record], ctx: RenderContext
) -> Reply:
    """The minutes themselves as one message: Markdown as the plain text, a list as HTML."""
    heading = html.escape(name(title) or f"Meeting {number}")
    shared = look_alikes(lines)
    items = "".join(
        f"<li>{html.escape(clock(r.at))} {html.escape(minutes_line(r, shared=shared))}</li>"
        for r in lines
    )
    audience = Audience.SENDER if ctx.private else Audience.ROOM
    return Reply(
        to_markdown(title, room, number, lines),
        f"<h3>Minutes: {heading}</h3><p>Room: {html.escape(name(room_name(room, lines)))}. Times"
        f" are UTC. Every ouch and oops is in bold.</p><ul>{items}</ul>",
        audience,
        (),
        ReplyKind.MINUTES_DOCUMENT,
    )


MINUTES_PART_LIMIT = 30_000
"""characters of body and formatted body, as escaped JSON, in one minutes message: a
Matrix event may have 65,536 bytes, and encryption makes the content a third larger"""


def minutes_documents(
    title: str,
    room: str,
    number: int,
    lines: Sequence[Record],
    ctx: RenderContext,
    *,
    limit: int = MINUTES_PART_LIMIT,
) -> list[Reply]:
    """The minutes as one message, or in parts cut between records when they are long."""

    def render_part(part: Sequence[Record]) -> Reply:
        return minutes_document(title, room, number, part, ctx)

    whole = render_part(lines)
    if len(lines) <= 1 or _size(whole) <= limit:
        return [whole]
    chunks = _minutes_chunks(list(lines), render_part, limit - _PART_LEAD)
    total = len(chunks)
    parts = []
    for index, chunk in enumerate(chunks, start=1):
        part = render_part(chunk)
        lead = f"Minutes, part {index} of {total}."
        parts.append(replace(part, text=f"{lead}\n\n{part.text}", html=f"<p>{lead}</p>{part.html}"))
    return parts


_PART_LEAD = 200
"""characters kept free in each part for its "Minutes, part 1 of 3" lead"""


def _size(reply: Reply) -> int:
    # As the event carries them: JSON strings, every non-ASCII character escaped.
    return len(json.dumps(reply.text)) + len(json.dumps(reply.html))


def _record_size(record: Record, shared: frozenset[str]) -> int:
    """About what one record adds to a minutes message: its Markdown line and list item."""
    plain = minutes_line(record, shared=shared)
    escaped = minutes_line(record, escape=True, shared=shared)
    return len(json.dumps(f"- 00:00:00 **{escaped}**")) + len(
        json.dumps(f"<li>00:00:00 {html.escape(plain)}</li>")
    )


def _person_size(person_id: str, name: str) -> int:
    """What one person adds to the list of people at the end of a minutes message."""
    return len(json.dumps(f"- {name}: {person_id}")) + 8


def _minutes_chunks(
    lines: list[Record], render_part: Callable[[Sequence[Record]], Reply], budget: int
) -> list[list[Record]]:
    """Records cut into runs whose message fits `budget`, in order, none dropped."""
    shared = look_alikes(lines)
    frame = _size(render_part([])) + 200  # the list of people's heading
    chunks: list[list[Record]] = [[]]
    named: set[str] = set()
    used = frame
    for record in lines:
        new = {pid: name for pid, name in people([record]).items() if pid not in named}
        cost = _record_size(record, shared) + sum(_person_size(*item) for item in new.items())
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            named.clear()
            used = frame
            new = people([record])
            cost = _record_size(record, shared) + sum(_person_size(*i) for i in new.items())
        chunks[-1].append(record)
        named.update(new)
        used += cost
    # The estimate leaves out what records share (the list of people); halve what it missed.
    fitted: list[list[Record]] = []
    for chunk in chunks:
        if len(chunk) > 1 and _size(render_part(chunk)) > budget:
            middle = len(chunk) // 2
            fitted += _minutes_chunks(chunk[:middle], render_part, budget)
            fitted += _minutes_chunks(chunk[middle:], render_part, budget)
        else:
            fitted.append(chunk)
    return fitted


# ---------------------------------------------------------------- refusals


_PRIVATE_KINDS = frozenset(kind for kind, policy in POLICY.items() if policy.where is Where.PRIVATE)
"""cues understood only in private: even a refusal of one is answered privately"""


def _refused(event: ev.Refused, ctx: RenderContext) -> list[Reply]:
    match event:
        case ev.NotAllowed(kind=kind) | ev.NoMeetingRunning(kind=kind) if kind in _PRIVATE_KINDS:
            line = _refused_line(event, ctx)
            return [_reply([line], Audience.SENDER, ReplyKind.REFUSED)]
        case _:
            return _answer(ctx, [_refused_line(event, ctx)], ReplyKind.REFUSED)


def _refused_line(event: ev.Refused, ctx: RenderContext) -> Part:
    match event:
        case ev.NotAllowed(kind=kind):
            action = POLICY[kind].action
            line = fmt("Only a facilitator can {action}. You can ask one to do it.", action=action)
        case ev.NoMeetingRunning(kind=kind):
            line = fmt(
                'No meeting is running, so I cannot {action} now. A facilitator can say "start'
                ' meeting TITLE". Saying "stack" also starts one and puts you on the stack.',
                action=POLICY[kind].action,
            )
        case ev.MeetingRunning(title=title):
            line = fmt(
                'A meeting is on now{title}. To start a new one, a facilitator says "end meeting"'
                " first.",
                title=f": {name(title)}" if name(title) else "",
            )
        case ev.NotSpeaker():
            line = fmt(
                "There is no turn of yours to end. Only the person who has the floor, or a"
                ' facilitator while someone speaks, can say "done". To leave the stack, say'
                ' "unstack".'
            )
        case ev.NoSuchPlace(size=size):
            if size > 1:
                choose = f"The stack has {size} people: choose a place from 1 to {size}."
            elif size == 1:
                choose = "The stack has 1 person, so place 1 is the only one."
            else:
                choose = "The stack is empty."
            line = fmt("There is no such place on the stack. {choose}", choose=choose)
        case ev.NoSuchPin(pin=pin):
            line = fmt(
                'There is no open ouch with pin {pin}. Say "status" to see the open pins.',
                pin=pin,
            )
        case ev.StackIsClosed(person=person):
            line = fmt(
                "The stack is closed, so {who} not added.{only} A facilitator can say"
                ' "open stack".',
                who="you were" if _you(person, ctx) else fmt("{name} was", name=who(person)),
                only=fmt(' Only a point of process can join now: say "stack process".')
                if lanes_a_closed_stack_takes(ctx.lanes)
                else "",
            )
        case ev.NothingToUndo():
            line = fmt(
                "There is nothing to undo. Undo takes back the last change a facilitator made to"
                " the stack by hand, while nothing else has changed it."
            )
        case ev.OuchAimedElsewhere(pin=pin):
            aimed = who(pin.at_person) if pin.at_person is not None else p("someone else")
            line = fmt(
                'Ouch pin {id} is aimed at {who}. If it was you, say "oops {id}".',
                id=pin.id,
                who=aimed,
            )
        case ev.NobodyBehind(person=person, position=position):
            line = fmt(
                "{who}, nobody is behind you in your lane, so you stay {nth}.",
                who=who(person),
                nth=ordinal(position),
            )
        case ev.NoRoomEntry(number=number):
            line = fmt(
                'Nobody called "{old}" is on the stack or speaking. Say "status" to see who is.',
                old=f"{IN_ROOM} {number}",
            )
        case _:
            assert_never(event)
    return line


__all__ = [
    "OVERVIEW_KINDS",
    "STACK_CHANGED_KINDS",
    "Audience",
    "RenderContext",
    "Reply",
    "ReplyKind",
    "count",
    "duration",
    "ordinal",
    "private_help",
    "render",
    "render_all",
]


# ---------------------------------------------------------------- fairness

_POSTED = {
    ReplyKind.STATUS: "the stack",
    ReplyKind.HELP: "the help",
    ReplyKind.MINUTES_DOCUMENT: "the minutes",
}


def already_posted(kind: ReplyKind) -> Reply:
    """A pointer to a long answer posted a moment ago, instead of posting it again."""
    what = _POSTED.get(kind, "that answer")
    line = fmt(
        "I posted {what} less than a minute ago, and nothing on the stack has changed since."
        " Please look just above.",
        what=what,
    )
    return _reply([line], Audience.ROOM, kind)


def rate_limited(person: Person, private: bool) -> Reply:
    """Said once when someone's messages come too fast and are skipped for a while."""
    if private:
        line = fmt(
            "You are sending me messages faster than I can take them, so I am skipping them"
            " for a short while. Wait a minute, then send what you need once."
        )
        return _reply([line], Audience.SENDER, ReplyKind.REFUSED)
    line = fmt(
        "{who} is sending messages faster than I can take them, so I am skipping theirs for a"
        " short while. Everyone else goes on as usual. {who}, wait a minute, then send what"
        " you need once.",
        who=who(person),
    )
    return _reply([line], Audience.ROOM, ReplyKind.REFUSED)
