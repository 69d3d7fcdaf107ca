"""Every core event as a short message in plain words: pure, no I/O, no clock, no logging.

Privacy: private priority is only ever told to the person who sent the signal. No room
message names it or gives a reason for anyone's place on the stack.
"""

from __future__ import annotations

import enum
import html
import math
import re
import string
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import assert_never

from scorebot.core import events as ev
from scorebot.core.minutes import LANE_NAMES, Record, clock, to_markdown
from scorebot.core.minutes import line as minutes_line
from scorebot.core.model import Lane, Person, Pin, Signal, Source


class Audience(enum.Enum):
    ROOM = "room"
    """posted in the meeting room, as a reply to the signal when it came from the room"""
    SENDER = "sender"
    """only to the person who sent the signal, privately"""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    """the complete message: screen readers and notification previews read only this"""
    html: str
    """the same message with structure and mention pills, and nothing more"""
    audience: Audience
    mentions: tuple[str, ...]
    """Matrix user ids to notify (`m.mentions`); never a guest"""
    kind: str
    """a short tag for the adapter; see OVERVIEW_KINDS and STACK_CHANGED_KINDS"""


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


OVERVIEW_KINDS = frozenset({"status"})
"""Replies that carry the whole stack, in order (the editable stack message)."""

STACK_CHANGED_KINDS = frozenset(
    {
        "meeting_started",
        "meeting_ended",
        "topic",
        "joined",
        "left",
        "called",
        "turn_ended",
        "stack_empty",
        "moved",
        "cleared",
        "closed",
        "opened",
        "lanes",
    }
)
"""Replies after which the stack message is out of date. "private_note" is deliberately
absent: refreshing the public stack right after a private message would give it away."""


# ---------------------------------------------------------------- words


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 101st, 111th."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def duration(seconds: float) -> str:
    """A span of time in words: "2 minutes 5 seconds"."""
    whole = round(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    if whole == 0:
        return "less than a second"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        count(value, unit)
        for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if value
    ]
    return " ".join(parts)


def _clean(name: str) -> str:
    return " ".join(name.split())


def _is_matrix_user(person: Person) -> bool:
    return person.id.startswith("@") and not person.is_guest


# ---------------------------------------------------------------- text and html together


@dataclass(frozen=True, slots=True)
class _Part:
    """A run of words as plain text and as HTML, built together so they cannot drift."""

    text: str
    html: str


_Piece = _Part | str
"""A plain `str` is escaped for HTML: user-provided text is always safe to pass."""


def _p(*pieces: _Piece) -> _Part:
    return _Part(
        "".join(p if isinstance(p, str) else p.text for p in pieces),
        "".join(html.escape(p) if isinstance(p, str) else p.html for p in pieces),
    )


def _who(person: Person) -> _Part:
    name = _clean(person.name) or person.id
    if _is_matrix_user(person):
        href = "https://matrix.to/#/" + urllib.parse.quote(person.id, safe="@:")
        return _Part(name, f'<a href="{html.escape(href)}">{html.escape(name)}</a>')
    return _p(name)


def _cmd(words: str) -> _Part:
    return _Part(f'"{words}"', f"&quot;<code>{html.escape(words)}</code>&quot;")


_COMMAND = re.compile(r'"([^"]+)"')


def _fmt(template: str, /, **values: _Part | str | int) -> _Part:
    """`_fmt('{who}, say "oops"', who=...)`: quoted words in the template become commands;
    `str` values are user text, escaped and never read as commands."""
    pieces: list[_Piece] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        for index, chunk in enumerate(_COMMAND.split(literal)):
            if chunk:
                pieces.append(_cmd(chunk) if index % 2 else chunk)
        if field is not None:
            value = values[field]
            pieces.append(value if isinstance(value, _Part) else str(value))
    return _p(*pieces)


def _strong(part: _Part) -> _Part:
    return _Part(part.text, f"<strong>{part.html}</strong>")


def _joined(parts: Sequence[_Part], last: str = " and ") -> _Part:
    """Maria, Jo and Sam."""
    if len(parts) <= 1:
        return _p(*parts)
    pieces: list[_Piece] = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(last if index == len(parts) - 1 else ", ")
        pieces.append(part)
    return _p(*pieces)


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Part, ...]
    ordered: bool = False


_Block = _Part | _List


def _compose(blocks: Sequence[_Block]) -> tuple[str, str]:
    if len(blocks) == 1 and isinstance(blocks[0], _Part):
        return blocks[0].text, blocks[0].html
    texts: list[str] = []
    markup: list[str] = []
    for block in blocks:
        if isinstance(block, _Part):
            texts.append(block.text)
            markup.append(f"<p>{block.html}</p>")
            continue
        tag = "ol" if block.ordered else "ul"
        for number, item in enumerate(block.items, start=1):
            texts.append(f"{number}. {item.text}" if block.ordered else f"- {item.text}")
        markup.append(f"<{tag}>" + "".join(f"<li>{i.html}</li>" for i in block.items) + f"</{tag}>")
    return "\n".join(texts), "".join(markup)


def _mentions(people: Iterable[Person | None], besides: Person | None = None) -> tuple[str, ...]:
    ids: list[str] = []
    for person in people:
        if person is None or not _is_matrix_user(person) or person.id in ids:
            continue
        if besides is not None and person.id == besides.id:
            continue
        ids.append(person.id)
    return tuple(ids)


def _reply(
    blocks: Sequence[_Block], audience: Audience, kind: str, mentions: tuple[str, ...] = ()
) -> Reply:
    text, markup = _compose(blocks)
    return Reply(text, markup, audience, mentions if audience is Audience.ROOM else (), kind)


def _public(
    ctx: RenderContext, blocks: Sequence[_Block], kind: str, mentions: tuple[str, ...] = ()
) -> list[Reply]:
    """Something the room must know; a private sender also gets a copy as confirmation."""
    room = _reply(blocks, Audience.ROOM, kind, mentions)
    if not ctx.private:
        return [room]
    confirm = Reply(
        f"Done. I posted this in the meeting room: {room.text}",
        f"Done. I posted this in the meeting room:<blockquote>{room.html}</blockquote>",
        Audience.SENDER,
        (),
        "confirm",
    )
    return [room, confirm]


def _answer(
    ctx: RenderContext, blocks: Sequence[_Block], kind: str, mentions: tuple[str, ...] = ()
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
    return _clean(title) or f"meeting {number}"


def _totals(totals: Sequence[ev.SpeakingTotal], scope: str) -> _Part:
    if not totals:
        return _p(f"Speaking time {scope}: nobody has spoken yet.")
    ordered = sorted(totals, key=lambda t: (-t.seconds, _clean(t.person.name)))
    parts = [
        _p(_who(t.person), f" {duration(t.seconds)} over {count(t.turns, 'turn')}") for t in ordered
    ]
    return _p(f"Speaking time {scope}: ", _joined(parts, ", "), ".")


def _pin_line(pin: Pin) -> _Part:
    pieces: list[_Piece] = [f"pin {pin.id} from "]
    pieces.append(_who(pin.by) if pin.by is not None else "someone")
    if pin.at_person is not None:
        pieces += [", aimed at ", _who(pin.at_person)]
    if pin.oops_at is not None:
        pieces.append(" (acknowledged with oops)")
    return _p(*pieces)


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
        case ev.AlreadyOnStack():
            return _already_on_stack(event, ctx)
        case ev.Left():
            return _left(event, ctx)
        case ev.NotOnStack():
            return _not_on_stack(event, ctx)
        case ev.Called():
            return _called(event, ctx)
        case ev.TurnEnded():
            verb = "finished speaking" if event.yielded else "ended their turn"
            line = _fmt(
                "{who} {verb} after {time}.",
                who=_who(event.person),
                verb=verb,
                time=duration(event.seconds),
            )
            return _public(ctx, [line], "turn_ended")
        case ev.StackEmpty():
            line = _fmt('Nobody is waiting on the stack. Say "stack" to speak.')
            return _public(ctx, [line], "stack_empty")
        case ev.Moved():
            line = _fmt(
                "{by} moved {who} to {place} on the stack.",
                by=_who(ctx.sender),
                who=_who(event.person),
                place=_place(event.position, event.size),
            )
            return _public(ctx, [line], "moved", _mentions([event.person], besides=ctx.sender))
        case ev.Cleared():
            return _cleared(event, ctx)
        case ev.StackClosed():
            line = _fmt(
                '{by} closed the stack: nobody new can join now{rest}. A facilitator can say "open'
                ' stack" to open it again.',
                by=_who(ctx.sender),
                rest=", except for a point of process" if ctx.lanes else "",
            )
            return _public(ctx, [line], "closed")
        case ev.StackOpened():
            line = _fmt('{by} opened the stack again: say "stack" to join.', by=_who(ctx.sender))
            return _public(ctx, [line], "opened")
        case ev.LanesChanged():
            return _lanes_changed(event, ctx)
        case ev.OuchPinned():
            return _ouch_pinned(event, ctx)
        case ev.OopsAcknowledged():
            return _oops(event, ctx)
        case ev.PinResolved():
            line = _fmt(
                "Ouch pin {id}{aimed} is resolved: the harm has been discussed. This is noted in "
                "the minutes.",
                id=event.pin.id,
                aimed=_aimed(event.pin, ", aimed at {who},"),
            )
            return _public(ctx, [line], "resolved")
        case ev.NoOpenPin():
            line = _fmt("There is no open ouch now, so there is nothing to acknowledge or resolve.")
            return _answer(ctx, [line], "no_pin")
        case ev.PriorityNoted():
            return _priority_noted(event)
        case ev.FacilitatorNamed():
            return _facilitator_named(event, ctx)
        case ev.StatusShown():
            return _answer(ctx, _status_blocks(event), "status")
        case ev.WhereShown():
            return _where(event, ctx)
        case ev.HelpShown():
            return _answer(ctx, _help(event, ctx), "help")
        case ev.MinutesAsked():
            return _minutes(event, ctx)
        case ev.WrapUpReminded():
            line = _fmt(
                "{who}, you have spoken for {time}; please start to wrap up.",
                who=_who(event.person),
                time=duration(event.seconds),
            )
            return _public(ctx, [line], "wrap_up", _mentions([event.person]))
        case ev.Refused():
            return _refused(event, ctx)
        case _:
            assert_never(event)


def render_all(events: Iterable[ev.Event], context: RenderContext) -> list[Reply]:
    """The replies for one signal's events, in order."""
    return [reply for event in events for reply in render(event, context)]


def _aimed(pin: Pin, template: str) -> _Part:
    return _fmt(template, who=_who(pin.at_person)) if pin.at_person is not None else _p()


def _meeting_started(event: ev.MeetingStarted, ctx: RenderContext) -> list[Reply]:
    title = _clean(event.title)
    if title:
        opening = _fmt("Meeting started: {title} (meeting {n}).", title=title, n=event.number)
    else:
        opening = _fmt("Meeting {n} has started.", n=event.number)
    line = _fmt(
        '{opening} Minutes are being kept, and every ouch and oops is noted in them. Say "stack"'
        ' to speak, or "help" for more.',
        opening=opening,
    )
    return _public(ctx, [line], "meeting_started")


def _meeting_ended(event: ev.MeetingEnded, ctx: RenderContext) -> list[Reply]:
    if event.left_on_stack:
        left = f"{count(event.left_on_stack, 'person was', 'people were')} still on the stack."
    else:
        left = "Nobody was left waiting on the stack."
    blocks: list[_Block] = [
        _fmt(
            "Meeting ended: {name}. Thank you, everyone.",
            name=_meeting_name(event.title, event.number),
        ),
        _totals(event.totals, "this meeting"),
        _fmt('{left} The minutes are kept; say "minutes" to get them.', left=left),
    ]
    return _public(ctx, blocks, "meeting_ended")


def _topic_started(event: ev.TopicStarted, ctx: RenderContext) -> list[Reply]:
    title = _clean(event.title)
    if event.carried_over:
        waiting = f"{count(event.carried_over, 'person is', 'people are')} still on the stack."
    else:
        waiting = "The stack is empty."
    line = _fmt(
        "{opening} {waiting} Speaking time starts again for this topic.",
        opening=_fmt("New topic: {title}.", title=title) if title else "New topic.",
        waiting=waiting,
    )
    return _public(ctx, [line], "topic")


def _pins_to_discuss(event: ev.PinsToDiscuss, ctx: RenderContext) -> list[Reply]:
    ouches = count(len(event.pins), "open ouch", "open ouches")
    pins = _List(tuple(_pin_line(pin) for pin in event.pins))
    if event.moment == "meeting":
        head = _fmt(
            "The meeting is ending with {ouches} not yet resolved. They are noted in the minutes,"
            " to be discussed:",
            ouches=ouches,
        )
        return _public(ctx, [head, pins], "pins")
    head = _fmt("Before moving on: {ouches} to discuss:", ouches=ouches)
    tail = _fmt('A facilitator says "resolved" once one has been discussed.')
    return _public(ctx, [head, pins, tail], "pins")


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
    values: dict[str, _Part | str | int] = {
        "who": _who(event.person),
        "where": where,
        "place": _place(event.position, event.size),
        "lanes": (
            " Lanes are switched off in this meeting, so everyone is on one stack."
            if event.lanes_off
            else ""
        ),
    }
    # People who did not type it themselves are told: put on by someone else, or by a hand
    # raised in the call or a spoken cue, where they may not be watching the chat.
    if event.by is not None:
        template = "{by} put {who} {where}{instead}: {place}.{lanes}"
        values |= {"by": _who(event.by), "instead": " instead" if event.lane_changed else ""}
        mentions = _mentions([event.person], besides=event.by)
    else:
        template = "{who}, you are{now} {where}: {place}.{seen}{lanes}"
        values |= {"now": " now" if event.lane_changed else "", "seen": _SEEN.get(event.source, "")}
        called_out = event.source in (Source.CALL_HAND, Source.VOICE)
        mentions = _mentions([event.person]) if called_out else ()
    return _public(ctx, [_fmt(template, **values)], "joined", mentions)


def _already_on_stack(event: ev.AlreadyOnStack, ctx: RenderContext) -> list[Reply]:
    lane = "" if event.lane is Lane.REGULAR else f", for a {LANE_NAMES[event.lane]}"
    template = "{who}, you are already {nth} on the stack{lane}."
    if not _you(event.person, ctx):
        template = "{who} is already {nth} on the stack{lane}."
    line = _fmt(template, who=_who(event.person), nth=ordinal(event.position), lane=lane)
    return _answer(ctx, [line], "already_on")


def _left(event: ev.Left, ctx: RenderContext) -> list[Reply]:
    if event.by is None:
        return _public(ctx, [_fmt("{who} left the stack.", who=_who(event.person))], "left")
    line = _fmt("{by} took {who} off the stack.", by=_who(event.by), who=_who(event.person))
    return _public(ctx, [line], "left", _mentions([event.person], besides=event.by))


def _not_on_stack(event: ev.NotOnStack, ctx: RenderContext) -> list[Reply]:
    if event.asked_by_self:
        template = (
            "{who}, you are not on the stack, so there was nothing to take you off."
            ' Say "stack" to join.'
        )
    else:
        template = '{who} is not on the stack. Say "status" to see who is.'
    return _answer(ctx, [_fmt(template, who=_who(event.person))], "not_on")


def _called(event: ev.Called, ctx: RenderContext) -> list[Reply]:
    floor = _strong(
        _fmt("{who}, you have the floor{lane}.", who=_who(event.person), lane=_lane_for(event.lane))
    )
    if event.up_next is None:
        line = _fmt("{floor} Nobody else is on the stack.", floor=floor)
    else:
        waiting = ""
        if event.remaining > 1:
            waiting = f" {count(event.remaining, 'person is', 'people are')} waiting."
        line = _fmt(
            "{floor} Next up: {next}.{waiting}",
            floor=floor,
            next=_who(event.up_next),
            waiting=waiting,
        )
    return _public(ctx, [line], "called", _mentions([event.person, event.up_next]))


def _cleared(event: ev.Cleared, ctx: RenderContext) -> list[Reply]:
    if not event.removed:
        return _public(ctx, [_fmt("The stack was already empty.")], "cleared")
    line = _fmt(
        '{by} cleared the stack: {people} {were} taken off. Say "stack" to join again.',
        by=_who(ctx.sender),
        people=_joined([_who(person) for person in event.removed]),
        were="was" if len(event.removed) == 1 else "were",
    )
    return _public(ctx, [line], "cleared")


def _lanes_changed(event: ev.LanesChanged, ctx: RenderContext) -> list[Reply]:
    if event.enabled:
        template = (
            '{by} switched lanes on. Say "stack process" for a point of process, "clarify" for a'
            ' clarifying question, or "direct" for a direct response: these go ahead of the'
            " regular stack."
        )
    else:
        template = "{by} switched lanes off: everyone is on one stack."
    return _public(ctx, [_fmt(template, by=_who(ctx.sender))], "lanes")


def _ouch_pinned(event: ev.OuchPinned, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    if pin.at_person is not None:
        who = _fmt(', aimed at {who}. {who}, you can say "oops"', who=_who(pin.at_person))
    else:
        who = _fmt('. Whoever it is about can say "oops"')
    line = _fmt(
        "{noted} from {by}{who} to acknowledge it. It will be discussed after the current"
        " discussion, and it is noted in the minutes.",
        noted=_strong(_fmt("Ouch noted (pin {id})", id=pin.id)),
        by=_who(pin.by) if pin.by is not None else "someone",
        who=who,
    )
    mentions = _mentions([pin.at_person])
    if ctx.private and pin.by is None:
        note = _fmt(
            "Your ouch is noted as pin {id}. The room sees it as from someone: your name is not"
            " shown, and it is not recorded anywhere.",
            id=pin.id,
        )
        return [
            _reply([line], Audience.ROOM, "ouch", mentions),
            _reply([note], Audience.SENDER, "confirm"),
        ]
    return _public(ctx, [line], "ouch", mentions)


def _oops(event: ev.OopsAcknowledged, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    aimed_elsewhere = pin.at_person is not None and pin.at_person.id != event.by.id
    line = _fmt(
        "{by} said oops: ouch pin {id}{aimed} is acknowledged. It stays open until it has been"
        " discussed, and it is noted in the minutes.",
        by=_who(event.by),
        id=pin.id,
        aimed=_aimed(pin, " (aimed at {who})") if aimed_elsewhere else "",
    )
    return _public(ctx, [line], "oops", _mentions([pin.by], besides=event.by))


def _priority_noted(event: ev.PriorityNoted) -> list[Reply]:
    # Private by rule: to the sender alone, even when the signal was typed in the room.
    if event.by_facilitator and event.on:
        template = (
            "Noted, privately: {who} has priority on the stack, until they have contributed"
            " significantly to the topic."
        )
    elif event.by_facilitator:
        template = "Noted, privately: {who} no longer has priority on the stack."
    elif event.on:
        template = (
            "Noted, privately. When you join the stack you will be placed higher, unless you have"
            " already contributed significantly to the topic.{keep}"
        )
    else:
        template = "Done, privately: you no longer have priority, for this and later meetings."
    keep = " I will remember it for later meetings in this room." if event.keep else ""
    if event.on and not event.by_facilitator:
        keep = keep or " It lasts until this meeting ends."
        template += ' Send me "priority off" to undo it.'
    template += " Nobody else is told, and it is not in the minutes."
    line = _fmt(template, who=_who(event.person), keep=keep)
    return [_reply([line], Audience.SENDER, "private_note")]


def _facilitator_named(event: ev.FacilitatorNamed, ctx: RenderContext) -> list[Reply]:
    if event.on:
        template = (
            "{by} named {who} a facilitator for this room: they can now call speakers and run"
            " the meeting."
        )
    else:
        template = (
            "{who} is no longer a named facilitator for this room. People with moderator rights"
            " in the room can still facilitate."
        )
    line = _fmt(template, by=_who(ctx.sender), who=_who(event.person))
    return _public(ctx, [line], "facilitator", _mentions([event.person], besides=ctx.sender))


def _status_blocks(event: ev.StatusShown) -> list[_Block]:
    """The stack overview: who speaks, who waits in order, and speaking time. No reasons."""
    if not event.active:
        blocks: list[_Block] = [
            _fmt(
                'No meeting is running. Say "stack" to start one, or a facilitator can say'
                ' "start meeting".'
            )
        ]
    else:
        title, topic = _clean(event.title), _clean(event.topic)
        blocks = [
            _fmt(
                "{title}{topic}",
                title=f"Meeting: {title}." if title else "A meeting is running.",
                topic=f" Topic: {topic}." if topic else "",
            )
        ]
    if event.speaker is not None:
        blocks.append(
            _fmt(
                "{who} has the floor ({time} so far).",
                who=_strong(_who(event.speaker)),
                time=duration(event.speaker_seconds),
            )
        )
    elif event.active:
        blocks.append(_fmt("Nobody has the floor."))
    if event.stack:
        waiting = count(len(event.stack), "person", "people")
        blocks.append(_fmt("On the stack, in order ({n}):", n=waiting))
        lines = tuple(
            _fmt(
                "{who}{lane}",
                who=_who(line.person),
                lane="" if line.lane is Lane.REGULAR else f" ({LANE_NAMES[line.lane]})",
            )
            for line in event.stack
        )
        blocks.append(_List(lines, ordered=True))
    elif event.active:
        blocks.append(_fmt("Nobody is on the stack."))
    if event.closed:
        blocks.append(_fmt("The stack is closed to new people, except for a point of process."))
    if event.open_pins:
        ouches = count(event.open_pins, "open ouch", "open ouches")
        blocks.append(_fmt("{ouches} still to be discussed.", ouches=ouches))
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
    lines = [_fmt(template, who=_who(event.person), place=place)]
    if event.position is not None and event.position > 1:
        lines.append(_why_ahead(event))
    return _answer(ctx, lines, "where")


def _why_ahead(event: ev.WhereShown) -> _Part:
    """Why people are ahead, without ever saying which rule lifted whom."""
    ahead = (event.position or 1) - 1
    by_rules = ahead - event.ahead_by_lane - event.ahead_placed
    reasons = []
    if event.ahead_by_lane:
        reasons.append(f"{count(event.ahead_by_lane, 'person', 'people')} in a more urgent lane")
    if event.ahead_placed:
        reasons.append(f"{count(event.ahead_placed, 'person', 'people')} placed by the facilitator")
    if by_rules:
        reasons.append(
            f"{count(by_rules, 'person', 'people')} by the progressive stack's rules "
            '("help" explains them)'
        )
    return _fmt("Ahead of you: {reasons}.", reasons="; ".join(reasons))


_HELP_LANES = (
    '"stack process": a point of process, about how the meeting is run.',
    '"clarify": a clarifying question, to explain a word or a reference.',
    '"direct": a direct response to what was just said.',
)
_HELP_EVERYONE = (
    '"unstack": leave the stack.',
    '"done": end your turn when you have finished speaking.',
    '"where am I": your place on the stack.',
    '"status": who is speaking, who is waiting, and speaking time.',
    '"ouch": mark a moment of harm, to discuss after the current discussion.',
    '"oops": acknowledge an ouch aimed at you.',
    '"minutes": get the minutes.',
    '"help": this list.',
)
_HELP_PRIVATE = (
    '"priority": if you are of a marginalized identity group, you are placed higher on the'
    " stack in meetings we share, unless you have already contributed significantly. Only I"
    " know, and it is forgotten when the meeting ends.",
    '"priority keep": the same, kept for later meetings.',
    '"priority off": stop.',
    '"ouch": pin a moment of harm anonymously; the room sees it as from someone. Add "in'
    ' ROOM" if we share more than one room.',
    '"where am I": your place on the stack.',
    '"status": who is speaking, who is waiting, and speaking time.',
    '"help": this list.',
)
_HELP_PRIVATE_FACILITATOR = (
    '"mark NAME in ROOM" or "unmark NAME in ROOM": give someone priority privately, or take'
    " it away.",
)
_HELP_FACILITATOR = (
    '"next": call the next speaker.',
    '"stack NAME" or "unstack NAME": put someone on the stack or take them off.',
    '"move NAME to 2": put someone at a place on the stack.',
    '"clear stack": take everyone off the stack.',
    '"topic TITLE": start the next topic.',
    '"close stack" or "open stack".',
    '"lanes on" or "lanes off": switch the separate lanes for urgent points.',
    '"resolved": an ouch has been discussed ("resolved 2" for pin 2).',
    '"start meeting TITLE" or "end meeting".',
    '"facilitator NAME": name another facilitator.',
)


def _items(lines: Iterable[str]) -> _List:
    return _List(tuple(_fmt(line) for line in lines))


def _help(event: ev.HelpShown, ctx: RenderContext) -> list[_Block]:
    if ctx.private:
        # The words that work in a private chat with the bot (see parse.parse_private).
        marks = _HELP_PRIVATE_FACILITATOR if event.facilitator else ()
        return [
            _fmt("In this private chat you can send:"),
            _items((*_HELP_PRIVATE, *marks)),
            _fmt('In the meeting room, say "help" for the words that work there.'),
        ]
    lanes = _HELP_LANES if event.lanes else ()
    blocks: list[_Block] = [
        _fmt("What you can type:"),
        _items(('"stack": join the stack to speak.', *lanes, *_HELP_EVERYONE)),
        _fmt(
            "You can also join the stack with a hand reaction ✋ on the stack message, or by"
            " raising your hand in the call."
        ),
        _fmt(
            'For private options, send {bot} a private message saying "help".',
            bot=_clean(ctx.bot_name) or "the bot",
        ),
    ]
    if event.facilitator:
        blocks += [_fmt("For facilitators:"), _items(_HELP_FACILITATOR)]
    return blocks


def _minutes(event: ev.MinutesAsked, ctx: RenderContext) -> list[Reply]:
    if event.number == 0:
        line = _fmt("No meeting has been held in this room yet, so there are no minutes.")
    else:
        line = _fmt(
            "Minutes are kept for meeting {n}, with every ouch and oops clearly marked. The"
            " minutes so far follow.",
            n=event.number,
        )
    return _answer(ctx, [line], "minutes")


def minutes_document(
    title: str, room: str, number: int, lines: Sequence[Record], ctx: RenderContext
) -> Reply:
    """The minutes themselves as one message: Markdown as the plain text, a list as HTML."""
    heading = html.escape(title or f"Meeting {number}")
    items = "".join(
        f"<li>{html.escape(clock(record.at))} {html.escape(minutes_line(record))}</li>"
        for record in lines
    )
    audience = Audience.SENDER if ctx.private else Audience.ROOM
    return Reply(
        to_markdown(title, room, number, lines),
        f"<h3>Minutes: {heading}</h3><p>Times are UTC. Oops and ouch moments are marked OUCH"
        f" and OOPS.</p><ul>{items}</ul>",
        audience,
        (),
        "minutes_document",
    )


_FACILITATOR_ACTIONS = {
    "Next": "call the next speaker",
    "Move": "move people on the stack",
    "Clear": "clear the stack",
    "NewTopic": "start a new topic",
    "StartMeeting": "start a meeting",
    "EndMeeting": "end the meeting",
    "CloseStack": "close the stack",
    "OpenStack": "open the stack",
    "SetLanes": "switch lanes on or off",
    "Resolve": "mark an ouch as resolved",
    "Facilitate": "name facilitators",
    "Join": "put someone else on the stack",
    "Leave": "take someone else off the stack",
    "Priority": "mark someone else privately",
}
"""Refused(NOT_FACILITATOR).detail is the cue's class name."""


def _refused(event: ev.Refused, ctx: RenderContext) -> list[Reply]:
    detail = _clean(event.detail)
    match event.reason:
        case ev.Reason.NOT_FACILITATOR:
            line = _fmt(
                "Only a facilitator can {action}. Facilitators are people with moderator rights"
                " in this room, or people a facilitator named.",
                action=_FACILITATOR_ACTIONS.get(detail, "do that"),
            )
            if detail == "Priority":
                # Even a refused attempt to mark someone stays private.
                return [_reply([line], Audience.SENDER, "refused")]
        case ev.Reason.NO_MEETING:
            line = _fmt(
                'No meeting is running. A facilitator can say "start meeting", or anyone can say'
                ' "stack" to start one.'
            )
        case ev.Reason.MEETING_RUNNING:
            line = _fmt(
                'A meeting is already running{title}. A facilitator can say "end meeting" first.',
                title=f": {detail}" if detail else "",
            )
        case ev.Reason.NOT_SPEAKER:
            line = _fmt(
                "There is no turn of yours to end. Only the person who has the floor, or a"
                ' facilitator while someone is speaking, can say "done". To leave the stack,'
                ' say "unstack".'
            )
        case ev.Reason.NO_SUCH_POSITION:
            size = int(detail) if detail.isdecimal() else 0
            if size > 1:
                choose = f"The stack has {size} people: choose a place from 1 to {size}."
            elif size == 1:
                choose = "The stack has 1 person, so place 1 is the only one."
            else:
                choose = "The stack is empty."
            line = _fmt("There is no such place on the stack. {choose}", choose=choose)
        case ev.Reason.NO_SUCH_PIN:
            line = _fmt(
                'There is no open ouch with pin {pin}. Say "status" to see how many are open, or'
                ' "resolved" alone for the oldest one.',
                pin=detail,
            )
        case ev.Reason.STACK_CLOSED:
            mine = not detail or detail == _clean(ctx.sender.name)
            line = _fmt(
                'The stack is closed, so {who} not added.{only} A facilitator can say "open'
                ' stack".',
                who="you were" if mine else _fmt("{name} was", name=detail),
                only=_fmt(' Only a point of process can join now: say "stack process".')
                if ctx.lanes
                else "",
            )
        case _:
            assert_never(event.reason)
    return _answer(ctx, [line], "refused")


__all__ = [
    "OVERVIEW_KINDS",
    "STACK_CHANGED_KINDS",
    "Audience",
    "RenderContext",
    "Reply",
    "count",
    "duration",
    "ordinal",
    "render",
    "render_all",
]
