"""Minutes: an append-only record of what happened, exported as Markdown or JSON.

Private priority never reaches the minutes: no event that carries it becomes a record,
and an anonymous ouch is recorded as from "someone". Names are written through the one
sanitizer (`sanitize`), and each record keeps the Matrix id beside the display name, so
a look-alike name cannot pass for someone else.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import msgspec

from scorebot.core import events as ev
from scorebot.core import sanitize
from scorebot.core.ids import is_matrix_person
from scorebot.core.markup import count, duration
from scorebot.core.model import IN_ROOM, Lane, Person, StackAction

LANE_NAMES = {
    Lane.PROCESS: "point of process",
    Lane.CLARIFYING: "clarifying question",
    Lane.DIRECT: "direct response",
    Lane.REGULAR: "regular stack",
}

CHANNEL_NAMES = {
    "chat": "chat",
    "reaction": "hand reaction",
    "call hand": "raised hand in the call",
    "voice": "voice",
    "direct message": "private message",
    "clock": "clock",
}
"""how each channel a signal came through is named in the minutes"""


class RecordKind(enum.StrEnum):
    """What a line of the minutes is about (the stored value: keep them stable)."""

    MEETING_STARTED = "meeting started"
    MEETING_ENDED = "meeting ended"
    TOPIC = "topic"
    JOINED = "joined stack"
    RENAMED = "renamed"
    LEFT = "left stack"
    STEPPED_BACK = "stepped back"
    CALLED = "called"
    TURN_ENDED = "turn ended"
    MOVED = "moved"
    CLEARED = "stack cleared"
    UNDONE = "undone"
    CLOSED = "stack closed"
    OPENED = "stack opened"
    OUCH = "ouch"
    OOPS = "oops"
    RESOLVED = "ouch resolved"
    LEFT_OPEN = "ouch left open"


@dataclass(frozen=True, slots=True)
class Record:
    """One line of the minutes."""

    at: float
    """seconds since the Unix epoch"""
    kind: RecordKind
    who: str = ""
    """display name of the person it is about ("someone" for an anonymous ouch)"""
    by: str = ""
    """who did it, when not the person it is about"""
    channel: str = ""
    lane: str = ""
    seconds: float | None = None
    pin: int | None = None
    text: str = ""
    who_id: str = ""
    """the Matrix id (or guest id) of `who`, so look-alike names can be told apart"""
    by_id: str = ""
    """the Matrix id of `by` (empty for "someone")"""
    room: str = ""
    """the room's name, on the "meeting started" record, when the adapter knew it"""


def _name(person: Person | None, default: str = "") -> str:
    return sanitize.clean(person.name) or person.id if person is not None else default


def _id(person: Person | None) -> str:
    return person.id if person is not None else ""


def _about(
    at: float, kind: RecordKind, who: Person | None, by: Person | None = None, **more: object
) -> Record:
    return Record(at, kind, who=_name(who), by=_name(by), who_id=_id(who), by_id=_id(by), **more)  # type: ignore[arg-type]


def records(events: Iterable[ev.Event], at: float) -> list[Record]:
    """The minutes lines for a signal's events (most events are not minuted)."""
    out: list[Record] = []
    for event in events:
        match event:
            case ev.MeetingStarted():
                text, room = sanitize.clean(event.title), sanitize.clean(event.room_name)
                out.append(Record(at, RecordKind.MEETING_STARTED, text=text, room=room))
            case ev.MeetingEnded():
                out.append(Record(at, RecordKind.MEETING_ENDED, text=sanitize.clean(event.title)))
            case ev.TopicStarted():
                out.append(Record(at, RecordKind.TOPIC, text=sanitize.clean(event.title)))
            case ev.Joined():
                channel, lane = event.source.value, LANE_NAMES[event.lane]
                out.append(
                    _about(
                        at, RecordKind.JOINED, event.person, event.by, channel=channel, lane=lane
                    )
                )
            case ev.Renamed():
                old = f"{IN_ROOM} {event.number}"
                out.append(_about(at, RecordKind.RENAMED, event.person, text=old))
            case ev.Left():
                out.append(
                    _about(at, RecordKind.LEFT, event.person, event.by, channel=event.source.value)
                )
            case ev.SteppedBack():
                out.append(
                    _about(at, RecordKind.STEPPED_BACK, event.person, text=str(event.position))
                )
            case ev.Called():
                out.append(_about(at, RecordKind.CALLED, event.person, lane=LANE_NAMES[event.lane]))
            case ev.TurnEnded():
                out.append(_about(at, RecordKind.TURN_ENDED, event.person, seconds=event.seconds))
            case ev.Moved():
                out.append(_about(at, RecordKind.MOVED, event.person, text=str(event.position)))
            case ev.Cleared():
                out.append(Record(at, RecordKind.CLEARED, text=str(len(event.removed))))
            case ev.Undone():
                out.append(
                    _about(at, RecordKind.UNDONE, event.person, event.by, text=event.action.value)
                )
            case ev.StackClosed():
                out.append(Record(at, RecordKind.CLOSED))
            case ev.StackOpened():
                out.append(Record(at, RecordKind.OPENED))
            case ev.OuchPinned():
                pin = event.pin
                ouch = _about(at, RecordKind.OUCH, pin.at_person, pin.by, pin=pin.id)
                out.append(ouch if pin.by is not None else _someone(ouch))
            case ev.OopsAcknowledged():
                out.append(_about(at, RecordKind.OOPS, event.by, pin=event.pin.id))
            case ev.PinResolved():
                out.append(Record(at, RecordKind.RESOLVED, pin=event.pin.id))
            case ev.PinsToDiscuss(moment=ev.Moment.MEETING):
                out += [
                    _about(at, RecordKind.LEFT_OPEN, pin.at_person, pin=pin.id)
                    for pin in event.pins
                ]
            case _:
                pass
    return out


def _someone(record: Record) -> Record:
    return replace(record, by="someone", by_id="")


def clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%H:%M:%S")


_UNDONE = {
    StackAction.PUT_ON.value: "putting {who} on the stack",
    StackAction.TOOK_OFF.value: "taking {who} off the stack",
    StackAction.MOVED.value: "moving {who}",
    StackAction.CLEARED.value: "clearing the stack",
}


def people(lines: Iterable[Record]) -> dict[str, str]:
    """Everyone named in the minutes: Matrix (or guest) id -> name as written."""
    out: dict[str, str] = {}
    for record in lines:
        for name, person_id in ((record.who, record.who_id), (record.by, record.by_id)):
            if person_id and name:
                out.setdefault(person_id, sanitize.clean(name))
    return out


def look_alikes(lines: Iterable[Record]) -> frozenset[str]:
    """Names that more than one person has (once cleaned): their lines show the id too."""
    seen: dict[str, str] = {}
    shared: set[str] = set()
    for person_id, name in people(lines).items():
        if seen.setdefault(name.casefold(), person_id) != person_id:
            shared.add(name.casefold())
    return frozenset(shared)


def line(record: Record, escape: bool = False, shared: frozenset[str] = frozenset()) -> str:
    """One record as a plain sentence. With `escape`, names and titles are Markdown-escaped
    (for the Markdown export); names in `shared` (see `look_alikes`) get their id beside."""
    write = sanitize.markdown if escape else sanitize.clean

    def person(name: str, person_id: str) -> str:
        shown = write(name)
        if person_id and sanitize.clean(name).casefold() in shared:
            return f"{shown} ({write(person_id)})"
        return shown

    who = person(record.who, record.who_id)
    by = person(record.by, record.by_id)
    text = write(record.text)
    match record.kind:
        case RecordKind.MEETING_STARTED:
            return f"Meeting started{': ' + text if text else ''}."
        case RecordKind.MEETING_ENDED:
            return "Meeting ended."
        case RecordKind.TOPIC:
            return f"New topic: {text or 'no title'}."
        case RecordKind.JOINED:
            via = f" (put there by {by})" if record.by else ""
            lane = record.lane or "regular stack"
            channel = CHANNEL_NAMES.get(record.channel, record.channel)
            return f"{who} joined the stack, {lane}, by {channel}{via}."
        case RecordKind.RENAMED:
            return f'"{text}" was named: {who}.'
        case RecordKind.LEFT:
            via = f" (taken off by {by})" if record.by else ""
            return f"{who} left the stack{via}."
        case RecordKind.STEPPED_BACK:
            return f"{who} stepped back to place {text}."
        case RecordKind.CALLED:
            return f"{who} was called to speak ({record.lane})."
        case RecordKind.TURN_ENDED:
            return f"{who}'s turn ended after {duration(record.seconds or 0.0)}."
        case RecordKind.MOVED:
            return f"{who} was moved to place {text} by a facilitator."
        case RecordKind.CLEARED:
            removed = int(record.text) if record.text.isdecimal() else 0
            return f"The stack was cleared ({count(removed, 'person', 'people')} taken off)."
        case RecordKind.UNDONE:
            action = _UNDONE.get(record.text, "a change").format(who=who)
            return f"A facilitator undid {action} (done by {by})."
        case RecordKind.CLOSED:
            return "The stack was closed to new people."
        case RecordKind.OPENED:
            return "The stack was opened again."
        case RecordKind.OUCH:
            aimed = f", aimed at {who}" if record.who else ", aimed at nobody in particular"
            return f"Ouch, pin {record.pin}: {by} pinned a moment of harm{aimed}."
        case RecordKind.OOPS:
            return f"Oops, pin {record.pin}: {who} acknowledged it."
        case RecordKind.RESOLVED:
            return f"Ouch pin {record.pin} was resolved: the harm was discussed."
        case RecordKind.LEFT_OPEN:
            aimed = f" (aimed at {who})" if record.who else ""
            return f"Ouch pin {record.pin}{aimed} was left open at the end of the meeting."


def room_name(room: str, lines: Sequence[Record]) -> str:
    """The room as people know it: its name from the minutes, else its id."""
    named = [r.room for r in lines if r.kind is RecordKind.MEETING_STARTED and r.room]
    return named[-1] if named else room


_MARKED = frozenset({RecordKind.OUCH, RecordKind.OOPS, RecordKind.RESOLVED, RecordKind.LEFT_OPEN})


def to_markdown(title: str, room: str, number: int, lines: Sequence[Record]) -> str:
    day = dt.datetime.fromtimestamp(lines[0].at, dt.UTC).date().isoformat() if lines else ""
    heading = sanitize.markdown(title) or f"Meeting {number}"
    out = [
        f"# Minutes: {heading}",
        "",
        f"Room: {sanitize.markdown(room_name(room, lines))}. Meeting {number}, {day}."
        " Times are UTC.",
        "Every ouch and oops is in bold.",
        "",
    ]
    shared = look_alikes(lines)
    for record in lines:
        sentence = line(record, escape=True, shared=shared)
        if record.kind in _MARKED:
            sentence = f"**{sentence}**"
        out.append(f"- {clock(record.at)} {sentence}")
    named = people(lines)
    if named:
        out += ["", "People in these minutes, with their Matrix ids:", ""]
        for person_id, name in sorted(named.items(), key=lambda item: item[1].casefold()):
            shown = person_id if is_matrix_person(person_id) else "a guest in the room"
            out.append(f"- {sanitize.markdown(name)}: {sanitize.markdown(shown)}")
    return "\n".join(out) + "\n"


def to_json(title: str, room: str, number: int, lines: Sequence[Record]) -> str:
    document = {
        "room": room,
        "room_name": room_name(room, lines),
        "number": number,
        "title": sanitize.clean(title),
        "records": [_cleaned(record) for record in lines],
    }
    return msgspec.json.format(msgspec.json.encode(document), indent=2).decode() + "\n"


def _cleaned(record: Record) -> Record:
    """A stored record with its names and text through the sanitizer (records written by
    older versions were not)."""
    return replace(
        record,
        who=sanitize.clean(record.who),
        by=sanitize.clean(record.by),
        text=sanitize.clean(record.text),
        room=sanitize.clean(record.room),
    )
