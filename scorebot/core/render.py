"""Every core event as a short message in plain words: pure, no I/O, no clock, no logging.

Privacy: private priority is only ever told to the person who sent the signal. No room
message names it or gives a reason for anyone's place on the stack.
"""

from __future__ import annotations

import enum
import html
import math
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import assert_never

from scorebot.core import events as ev
from scorebot.core.minutes import LANE_NAMES
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


def _private(blocks: Sequence[_Block], kind: str) -> list[Reply]:
    return [_reply(blocks, Audience.SENDER, kind)]


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
    """The replies for one event; most events give one, none gives zero."""
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
            line = _p(_who(event.person), f" {verb} after {duration(event.seconds)}.")
            return _public(ctx, [line], "turn_ended")
        case ev.StackEmpty():
            line = _p("Nobody is waiting on the stack. Say ", _cmd("stack"), " to speak.")
            return _public(ctx, [line], "stack_empty")
        case ev.Moved():
            line = _p(
                _who(ctx.sender),
                " moved ",
                _who(event.person),
                f" to {_place(event.position, event.size)} on the stack.",
            )
            return _public(ctx, [line], "moved", _mentions([event.person], besides=ctx.sender))
        case ev.Cleared():
            return _cleared(event, ctx)
        case ev.StackClosed():
            rest = ", except for a point of process" if ctx.lanes else ""
            line = _p(
                _who(ctx.sender),
                f" closed the stack: nobody new can join now{rest}. A facilitator can say ",
                _cmd("open stack"),
                " to open it again.",
            )
            return _public(ctx, [line], "closed")
        case ev.StackOpened():
            line = _p(_who(ctx.sender), " opened the stack again: say ", _cmd("stack"), " to join.")
            return _public(ctx, [line], "opened")
        case ev.LanesChanged():
            return _lanes_changed(event, ctx)
        case ev.OuchPinned():
            return _ouch_pinned(event, ctx)
        case ev.OopsAcknowledged():
            return _oops(event, ctx)
        case ev.PinResolved():
            aimed: list[_Piece] = []
            if event.pin.at_person is not None:
                aimed = [", aimed at ", _who(event.pin.at_person), ","]
            line = _p(
                f"Ouch pin {event.pin.id}",
                *aimed,
                " is resolved: the harm has been discussed. This is noted in the minutes.",
            )
            return _public(ctx, [line], "resolved")
        case ev.NoOpenPin():
            line = _p(
                "There is no open ouch right now, so there is nothing to acknowledge or resolve."
            )
            return _answer(ctx, [line], "no_pin")
        case ev.PriorityNoted():
            return _priority_noted(event, ctx)
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
            line = _p(
                _who(event.person),
                f", you have spoken for {duration(event.seconds)}; please start to wrap up.",
            )
            return _public(ctx, [line], "wrap_up", _mentions([event.person]))
        case ev.Refused():
            return _refused(event, ctx)
        case _:
            assert_never(event)


def render_all(events: Iterable[ev.Event], context: RenderContext) -> list[Reply]:
    """The replies for one signal's events, in order."""
    return [reply for event in events for reply in render(event, context)]


def _meeting_started(event: ev.MeetingStarted, ctx: RenderContext) -> list[Reply]:
    title = _clean(event.title)
    if title:
        opening = _p("Meeting started: ", title, f" (meeting {event.number}).")
    else:
        opening = _p(f"Meeting {event.number} has started.")
    line = _p(
        opening,
        " Minutes are being kept, and every ouch and oops is noted in them. Say ",
        _cmd("stack"),
        " to speak, or ",
        _cmd("help"),
        " for more.",
    )
    return _public(ctx, [line], "meeting_started")


def _meeting_ended(event: ev.MeetingEnded, ctx: RenderContext) -> list[Reply]:
    if event.left_on_stack:
        left = f"{count(event.left_on_stack, 'person was', 'people were')} still on the stack."
    else:
        left = "Nobody was left waiting on the stack."
    blocks: list[_Block] = [
        _p("Meeting ended: ", _meeting_name(event.title, event.number), ". Thank you, everyone."),
        _totals(event.totals, "this meeting"),
        _p(left, " The minutes are kept; say ", _cmd("minutes"), " to get them."),
    ]
    return _public(ctx, blocks, "meeting_ended")


def _topic_started(event: ev.TopicStarted, ctx: RenderContext) -> list[Reply]:
    title = _clean(event.title)
    opening = _p("New topic: ", title, ".") if title else _p("New topic.")
    if event.carried_over:
        waiting = (
            f" {count(event.carried_over, 'person is', 'people are')} still on the stack "
            "from before."
        )
    else:
        waiting = " The stack is empty."
    line = _p(opening, waiting, " Speaking time starts again for this topic.")
    return _public(ctx, [line], "topic")


def _pins_to_discuss(event: ev.PinsToDiscuss, ctx: RenderContext) -> list[Reply]:
    ouches = count(len(event.pins), "open ouch", "open ouches")
    if event.moment == "meeting":
        head = _p(
            f"The meeting is ending with {ouches} not yet resolved. "
            "They are noted in the minutes, to be discussed:"
        )
    else:
        head = _p(f"Before moving on: {ouches} to discuss:")
    tail = _p("A facilitator says ", _cmd("resolved"), " once one has been discussed.")
    blocks: list[_Block] = [head, _List(tuple(_pin_line(pin) for pin in event.pins))]
    if event.moment != "meeting":
        blocks.append(tail)
    return _public(ctx, blocks, "pins")


def _joined_stack(event: ev.Joined, ctx: RenderContext) -> list[Reply]:
    place = _place(event.position, event.size)
    lane = _lane_for(event.lane)
    if event.lane_changed:
        where = "on the regular stack" if event.lane is Lane.REGULAR else f"on the stack{lane}"
    else:
        where = f"on the stack{lane}"
    if event.by is not None:
        extra = " instead" if event.lane_changed else ""
        pieces: list[_Piece] = [_who(event.by), " put ", _who(event.person), f" {where}{extra}"]
    else:
        now = " now" if event.lane_changed else ""
        pieces = [_who(event.person), f", you are{now} {where}"]
    pieces.append(f": {place}.")
    if event.by is None:
        seen = {
            Source.CALL_HAND: " Your raised hand in the call was seen.",
            Source.REACTION: " Your hand reaction was seen.",
            Source.VOICE: " This was heard by voice.",
        }
        pieces.append(seen.get(event.source, ""))
    if event.lanes_off:
        pieces.append(" Lanes are switched off in this meeting, so everyone is on one stack.")
    # Tell people who did not type it themselves: put on by someone else, or by a hand
    # raised in the call or a spoken cue, where they may not be watching the chat.
    mentions: tuple[str, ...] = ()
    if event.by is not None:
        mentions = _mentions([event.person], besides=event.by)
    elif event.source in (Source.CALL_HAND, Source.VOICE):
        mentions = _mentions([event.person])
    return _public(ctx, [_p(*pieces)], "joined", mentions)


def _already_on_stack(event: ev.AlreadyOnStack, ctx: RenderContext) -> list[Reply]:
    where = f"{ordinal(event.position)} on the stack"
    lane = f", for a {LANE_NAMES[event.lane]}" if event.lane is not Lane.REGULAR else ""
    if _you(event.person, ctx):
        line = _p(_who(event.person), f", you are already {where}{lane}.")
    else:
        line = _p(_who(event.person), f" is already {where}{lane}.")
    return _answer(ctx, [line], "already_on")


def _left(event: ev.Left, ctx: RenderContext) -> list[Reply]:
    if event.by is not None:
        line = _p(_who(event.by), " took ", _who(event.person), " off the stack.")
        return _public(ctx, [line], "left", _mentions([event.person], besides=event.by))
    return _public(ctx, [_p(_who(event.person), " left the stack.")], "left")


def _not_on_stack(event: ev.NotOnStack, ctx: RenderContext) -> list[Reply]:
    if event.asked_by_self:
        line = _p(
            _who(event.person),
            ", you are not on the stack, so there was nothing to take you off. Say ",
            _cmd("stack"),
            " to join.",
        )
    else:
        line = _p(
            _who(event.person), " is not on the stack. Say ", _cmd("status"), " to see who is."
        )
    return _answer(ctx, [line], "not_on")


def _called(event: ev.Called, ctx: RenderContext) -> list[Reply]:
    pieces: list[_Piece] = [
        _strong(_p(_who(event.person), ", you have the floor", _lane_for(event.lane), "."))
    ]
    if event.up_next is not None:
        pieces += [" Next up: ", _who(event.up_next), "."]
        if event.remaining > 1:
            pieces.append(f" {count(event.remaining, 'person is', 'people are')} waiting.")
    else:
        pieces.append(" Nobody else is on the stack.")
    mentions = _mentions([event.person, event.up_next])
    return _public(ctx, [_p(*pieces)], "called", mentions)


def _cleared(event: ev.Cleared, ctx: RenderContext) -> list[Reply]:
    if not event.removed:
        line = _p("The stack was already empty.")
    else:
        line = _p(
            _who(ctx.sender),
            " cleared the stack: ",
            _joined([_who(person) for person in event.removed]),
            f" {'was' if len(event.removed) == 1 else 'were'} taken off. Say ",
            _cmd("stack"),
            " to join again.",
        )
    return _public(ctx, [line], "cleared")


def _lanes_changed(event: ev.LanesChanged, ctx: RenderContext) -> list[Reply]:
    if event.enabled:
        line = _p(
            _who(ctx.sender),
            " switched lanes on. Say ",
            _cmd("stack process"),
            " for a point of process, ",
            _cmd("clarify"),
            " for a clarifying question, or ",
            _cmd("direct"),
            " for a direct response: these go ahead of the regular stack.",
        )
    else:
        line = _p(_who(ctx.sender), " switched lanes off: everyone is on one stack.")
    return _public(ctx, [line], "lanes")


def _ouch_pinned(event: ev.OuchPinned, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    by = _who(pin.by) if pin.by is not None else _p("someone")
    pieces: list[_Piece] = [_strong(_p(f"Ouch noted (pin {pin.id})")), " from ", by]
    if pin.at_person is not None:
        pieces += [", aimed at ", _who(pin.at_person), ". ", _who(pin.at_person), ", you can say "]
    else:
        pieces.append(". Whoever it is about can say ")
    pieces += [
        _cmd("oops"),
        " to acknowledge it. It will be discussed after the current discussion, "
        "and it is noted in the minutes.",
    ]
    room = _reply([_p(*pieces)], Audience.ROOM, "ouch", _mentions([pin.at_person]))
    if not ctx.private:
        return [room]
    if pin.by is None:
        note = _p(
            f"Your ouch is noted as pin {pin.id}. The room sees it as from someone: "
            "your name is not shown, and it is not recorded anywhere."
        )
        return [room, _reply([note], Audience.SENDER, "confirm")]
    return _public(ctx, [_p(*pieces)], "ouch", _mentions([pin.at_person]))


def _oops(event: ev.OopsAcknowledged, ctx: RenderContext) -> list[Reply]:
    pin = event.pin
    pieces: list[_Piece] = [_who(event.by), f" said oops: ouch pin {pin.id}"]
    if pin.at_person is not None and pin.at_person.id != event.by.id:
        pieces += [" (aimed at ", _who(pin.at_person), ")"]
    pieces.append(
        " is acknowledged. It stays open until it has been discussed, and it is noted "
        "in the minutes."
    )
    return _public(ctx, [_p(*pieces)], "oops", _mentions([pin.by], besides=event.by))


def _priority_noted(event: ev.PriorityNoted, ctx: RenderContext) -> list[Reply]:
    # Private by rule: always to the sender alone, even when the signal came in the room.
    secret = " Nobody else is told, and it is not in the minutes."
    if event.by_facilitator:
        name = _who(event.person)
        if event.on:
            line = _p(
                "Noted, privately: ",
                name,
                " has priority on the stack, until they have contributed significantly "
                "to the topic.",
                secret,
            )
        else:
            line = _p("Noted, privately: ", name, " no longer has priority on the stack.", secret)
        return _private([line], "private_note")
    if event.on:
        keep = (
            " I will remember it for later meetings in this room."
            if event.keep
            else " It lasts until this meeting ends."
        )
        line = _p(
            "Noted, privately. When you join the stack you will be placed higher, unless "
            "you have already contributed significantly to the topic.",
            keep,
            secret,
            " Send me ",
            _cmd("priority off"),
            " to undo it.",
        )
    else:
        line = _p(
            "Done, privately: you no longer have priority, for this and later meetings.",
            secret,
        )
    return _private([line], "private_note")


def _facilitator_named(event: ev.FacilitatorNamed, ctx: RenderContext) -> list[Reply]:
    if event.on:
        line = _p(
            _who(ctx.sender),
            " named ",
            _who(event.person),
            " a facilitator for this room: they can now call speakers and run the meeting.",
        )
    else:
        line = _p(
            _who(event.person),
            " is no longer a named facilitator for this room. People with moderator "
            "rights in the room can still facilitate.",
        )
    return _public(ctx, [line], "facilitator", _mentions([event.person], besides=ctx.sender))


def _status_blocks(event: ev.StatusShown) -> list[_Block]:
    """The stack overview: who speaks, who waits in order, and speaking time."""
    blocks: list[_Block] = []
    if not event.active:
        blocks.append(
            _p(
                "No meeting is running. Say ",
                _cmd("stack"),
                " to start one, or a facilitator can say ",
                _cmd("start meeting"),
                ".",
            )
        )
    else:
        title, topic = _clean(event.title), _clean(event.topic)
        blocks.append(
            _p(
                f"Meeting: {title}." if title else "A meeting is running.",
                f" Topic: {topic}." if topic else "",
            )
        )
    if event.speaker is not None:
        blocks.append(
            _p(
                _strong(_who(event.speaker)),
                f" has the floor ({duration(event.speaker_seconds)} so far).",
            )
        )
    elif event.active:
        blocks.append(_p("Nobody has the floor."))
    if event.stack:
        blocks.append(
            _p(f"On the stack, in order ({count(len(event.stack), 'person', 'people')}):")
        )
        lines = tuple(
            _p(
                _who(line.person),
                "" if line.lane is Lane.REGULAR else f" ({LANE_NAMES[line.lane]})",
            )
            for line in event.stack
        )
        blocks.append(_List(lines, ordered=True))
    elif event.active:
        blocks.append(_p("Nobody is on the stack."))
    if event.closed:
        blocks.append(_p("The stack is closed to new people, except for a point of process."))
    if event.open_pins:
        blocks.append(
            _p(f"{count(event.open_pins, 'open ouch', 'open ouches')} still to be discussed.")
        )
    if event.active:
        blocks.append(_totals(event.totals, "this topic"))
    return blocks


def _where(event: ev.WhereShown, ctx: RenderContext) -> list[Reply]:
    name = _who(event.person)
    if event.speaking and event.position is not None:
        where = f", you have the floor, and you are also {_place(event.position, event.size)}"
        line = _p(name, f"{where} on the stack.")
    elif event.speaking:
        line = _p(name, ", you have the floor.")
    elif event.position is not None:
        line = _p(name, f", you are {_place(event.position, event.size)} on the stack.")
    else:
        line = _p(name, ", you are not on the stack. Say ", _cmd("stack"), " to join.")
    return _answer(ctx, [line], "where")


def _help(event: ev.HelpShown, ctx: RenderContext) -> list[_Block]:
    items: list[_Part] = [_p(_cmd("stack"), ": join the stack to speak.")]
    if event.lanes:
        items += [
            _p(_cmd("stack process"), ": a point of process, about how the meeting is run."),
            _p(_cmd("clarify"), ": a clarifying question, to explain a word or a reference."),
            _p(_cmd("direct"), ": a direct response to what was just said."),
        ]
    items += [
        _p(_cmd("unstack"), ": leave the stack."),
        _p(_cmd("done"), ": end your turn when you have finished speaking."),
        _p(_cmd("where am I"), ": your place on the stack."),
        _p(_cmd("status"), ": who is speaking, who is waiting, and speaking time."),
        _p(
            _cmd("ouch"),
            ": mark a moment of harm, to discuss after the current discussion. ",
            _cmd("oops"),
            ": acknowledge an ouch aimed at you.",
        ),
        _p(_cmd("minutes"), ": get the minutes."),
        _p(_cmd("help"), ": this list."),
    ]
    blocks: list[_Block] = [
        _p("What you can type:"),
        _List(tuple(items)),
        _p(
            "You can also join the stack with a hand reaction ✋ on the stack message, "
            "or by raising your hand in the call."
        ),
    ]
    if ctx.private:
        blocks += [
            _p("Only in a private message to me:"),
            _List(
                (
                    _p(
                        _cmd("priority"),
                        ": if you are of a marginalized identity group, you are placed "
                        "higher on the stack, unless you have already contributed "
                        "significantly. Nobody else is told. ",
                        _cmd("priority off"),
                        " undoes it.",
                    ),
                    _p(_cmd("ouch"), ": shown to the room as from someone, without your name."),
                )
            ),
        ]
    else:
        bot = _clean(ctx.bot_name) or "the bot"
        blocks.append(
            _p("For private options, send ", bot, " a private message saying ", _cmd("help"), ".")
        )
    if event.facilitator:
        lanes = _p(_cmd("lanes on"), " or ", _cmd("lanes off"), ": switch the separate lanes.")
        facilitator: list[_Part] = [
            _p(_cmd("next"), ": call the next speaker."),
            _p(_cmd("stack NAME"), " or ", _cmd("unstack NAME"), ": put someone on or off."),
            _p(_cmd("move NAME to 2"), ": put someone at a place on the stack."),
            _p(_cmd("clear stack"), ": take everyone off."),
            _p(_cmd("topic TITLE"), ": start the next topic."),
            _p(_cmd("close stack"), " or ", _cmd("open stack"), "."),
            lanes,
            _p(_cmd("resolved"), ": an ouch has been discussed."),
            _p(_cmd("start meeting TITLE"), " or ", _cmd("end meeting"), "."),
            _p(_cmd("facilitator NAME"), ": name another facilitator."),
        ]
        if ctx.private:
            facilitator.append(_p(_cmd("priority NAME"), ": mark someone, privately."))
        blocks += [_p("For facilitators:"), _List(tuple(facilitator))]
    return blocks


def _minutes(event: ev.MinutesAsked, ctx: RenderContext) -> list[Reply]:
    if event.number == 0:
        line = _p("No meeting has been held in this room yet, so there are no minutes.")
    else:
        line = _p(
            f"Minutes are kept for meeting {event.number}, with every ouch and oops clearly "
            "marked. Say ",
            _cmd("minutes"),
            " at any time to get the latest copy.",
        )
    return _answer(ctx, [line], "minutes")


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

_WHO_FACILITATES = (
    " Facilitators are people with moderator rights in this room, or people a facilitator named."
)


def _refused(event: ev.Refused, ctx: RenderContext) -> list[Reply]:
    detail = event.detail
    match event.reason:
        case ev.Reason.NOT_FACILITATOR:
            action = _FACILITATOR_ACTIONS.get(detail, "do that")
            line = _p(f"Only a facilitator can {action}.{_WHO_FACILITATES}")
            if detail == "Priority":
                # Even a refused attempt to mark someone is private.
                return _private([line], "refused")
        case ev.Reason.NO_MEETING:
            line = _p(
                "No meeting is running. A facilitator can say ",
                _cmd("start meeting"),
                ", or anyone can say ",
                _cmd("stack"),
                " to start one.",
            )
        case ev.Reason.MEETING_RUNNING:
            line = _p(
                "A meeting is already running",
                f": {_clean(detail)}. " if _clean(detail) else ". ",
                "A facilitator can say ",
                _cmd("end meeting"),
                " first.",
            )
        case ev.Reason.NOT_SPEAKER:
            line = _p(
                "You do not have the floor, so there is no turn of yours to end. Only the "
                "person speaking, or a facilitator, can say ",
                _cmd("done"),
                ". To leave the stack, say ",
                _cmd("unstack"),
                ".",
            )
        case ev.Reason.NO_SUCH_POSITION:
            size = int(detail) if detail.isdigit() else 0
            if size > 1:
                choose = f"The stack has {size} people: choose a place from 1 to {size}."
            elif size == 1:
                choose = "The stack has 1 person, so place 1 is the only one."
            else:
                choose = "The stack is empty."
            line = _p(f"There is no such place on the stack. {choose}")
        case ev.Reason.NO_SUCH_PIN:
            line = _p(
                f"There is no open ouch with pin {_clean(detail)}. Say ",
                _cmd("status"),
                " to see how many are open, or ",
                _cmd("resolved"),
                " alone for the oldest one.",
            )
        case ev.Reason.STACK_CLOSED:
            named = _clean(detail)
            who = "you were" if not named or named == _clean(ctx.sender.name) else f"{named} was"
            only = (
                _p(" Only a point of process can join now: say ", _cmd("stack process"), ".")
                if ctx.lanes
                else _p("")
            )
            line = _p(
                f"The stack is closed, so {who} not added.",
                only,
                " A facilitator can say ",
                _cmd("open stack"),
                ".",
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
