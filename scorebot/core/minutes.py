"""Minutes: an append-only record of what happened, exported as Markdown or JSON.

Private priority never reaches the minutes: no event that carries it becomes a record,
and an anonymous ouch is recorded as from "someone".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from scorebot.core import events as ev
from scorebot.core.model import Lane, Person

LANE_NAMES = {
    Lane.PROCESS: "point of process",
    Lane.CLARIFYING: "clarifying question",
    Lane.DIRECT: "direct response",
    Lane.REGULAR: "regular stack",
}


@dataclass(frozen=True, slots=True)
class Record:
    """One line of the minutes."""

    at: float
    """seconds since the Unix epoch"""
    kind: str
    who: str = ""
    """display name of the person it is about ("someone" for an anonymous ouch)"""
    by: str = ""
    """who did it, when not the person it is about"""
    channel: str = ""
    lane: str = ""
    seconds: float | None = None
    pin: int | None = None
    text: str = ""


def _name(person: Person | None, default: str = "") -> str:
    return person.name if person is not None else default


def records(events: Iterable[ev.Event], at: float) -> list[Record]:
    """The minutes lines for a signal's events (most events are not minuted)."""
    out: list[Record] = []
    for event in events:
        match event:
            case ev.MeetingStarted():
                out.append(Record(at, "meeting started", text=event.title))
            case ev.MeetingEnded():
                out.append(Record(at, "meeting ended", text=event.title))
            case ev.TopicStarted():
                out.append(Record(at, "topic", text=event.title, pin=None))
            case ev.Joined():
                out.append(
                    Record(
                        at,
                        "joined stack",
                        who=event.person.name,
                        by=_name(event.by),
                        channel=event.source.value,
                        lane=LANE_NAMES[event.lane],
                    )
                )
            case ev.Left():
                out.append(
                    Record(
                        at,
                        "left stack",
                        who=event.person.name,
                        by=_name(event.by),
                        channel=event.source.value,
                    )
                )
            case ev.Called():
                out.append(Record(at, "called", who=event.person.name, lane=LANE_NAMES[event.lane]))
            case ev.TurnEnded():
                out.append(Record(at, "turn ended", who=event.person.name, seconds=event.seconds))
            case ev.Moved():
                out.append(Record(at, "moved", who=event.person.name, text=str(event.position)))
            case ev.Cleared():
                out.append(Record(at, "stack cleared", text=str(len(event.removed))))
            case ev.StackClosed():
                out.append(Record(at, "stack closed"))
            case ev.StackOpened():
                out.append(Record(at, "stack opened"))
            case ev.OuchPinned():
                pin = event.pin
                out.append(
                    Record(
                        at,
                        "ouch",
                        who=_name(pin.at_person),
                        by=_name(pin.by, "someone"),
                        pin=pin.id,
                    )
                )
            case ev.OopsAcknowledged():
                out.append(Record(at, "oops", who=event.by.name, pin=event.pin.id))
            case ev.PinResolved():
                out.append(Record(at, "ouch resolved", pin=event.pin.id))
            case _:
                pass
    return out


def clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%H:%M:%S")


def _seconds(value: float | None) -> str:
    whole = round(value or 0.0)
    minutes, seconds = divmod(whole, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def line(record: Record) -> str:
    """One record as a plain sentence (Markdown-safe enough for a list item)."""
    who, by = record.who, record.by
    match record.kind:
        case "meeting started":
            return f"Meeting started{': ' + record.text if record.text else ''}."
        case "meeting ended":
            return "Meeting ended."
        case "topic":
            return f"New topic: {record.text or 'untitled'}."
        case "joined stack":
            via = f" (put there by {by})" if by else ""
            return f"{who} joined the stack, {record.lane}, by {record.channel}{via}."
        case "left stack":
            via = f" (taken off by {by})" if by else ""
            return f"{who} left the stack{via}."
        case "called":
            return f"{who} was called to speak ({record.lane})."
        case "turn ended":
            return f"{who} finished speaking after {_seconds(record.seconds)}."
        case "moved":
            return f"{who} was moved to place {record.text} by the facilitator."
        case "stack cleared":
            return f"The stack was cleared ({record.text} people removed)."
        case "stack closed":
            return "The stack was closed to new entries, except points of process."
        case "stack opened":
            return "The stack was opened again."
        case "ouch":
            aimed = f", aimed at {who}" if who else ""
            return f"OUCH #{record.pin}: {by} pinned a moment of harm{aimed}."
        case "oops":
            return f"OOPS #{record.pin}: {who} acknowledged it."
        case "ouch resolved":
            return f"OUCH #{record.pin} RESOLVED: the harm was discussed."
        case _:
            return f"{record.kind}: {who} {record.text}".strip()


def to_markdown(title: str, room: str, number: int, lines: Sequence[Record]) -> str:
    day = dt.datetime.fromtimestamp(lines[0].at, dt.UTC).date().isoformat() if lines else ""
    heading = title or f"Meeting {number}"
    out = [
        f"# Minutes: {heading}",
        "",
        f"Room {room}, meeting {number}, {day}. Times are UTC.",
        "Oops and ouch moments are marked OUCH and OOPS.",
        "",
    ]
    for record in lines:
        out.append(f"- {clock(record.at)} {line(record)}")
    return "\n".join(out) + "\n"


def to_json(title: str, room: str, number: int, lines: Sequence[Record]) -> str:
    document = {"room": room, "number": number, "title": title, "records": list(lines)}
    return msgspec.json.format(msgspec.json.encode(document), indent=2).decode() + "\n"
