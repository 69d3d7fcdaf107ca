"""Meeting state and minutes records to and from JSON, for the stores.

The stored meeting carries a shape version. Shape 0 (before versions) kept every turn,
topic and pin of the meeting; shape 1 keeps only what the rules need (tallies, the current
turn and topic, open pins). `decode_meeting` reads any known shape and migrates it.
"""

from __future__ import annotations

import msgspec

from scorebot.app.ports import Outgoing, OutKind, Target, ToPerson, ToRoom
from scorebot.core.minutes import Record
from scorebot.core.model import Entry, Meeting, Person, Pin, Settings, Tally, Topic, Turn

SHAPE = 1
"""the shape `encode_meeting` writes"""


class ShapeTooNewError(ValueError):
    """A stored meeting written by a newer scorebot than this one."""


class _Envelope(msgspec.Struct):
    shape: int = 0
    meeting: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class _Shape1(msgspec.Struct):
    shape: int
    meeting: Meeting


# ---------------------------------------------------------------- shape 0, as stored before


class _Turn0(msgspec.Struct):
    person: Person
    topic: int
    started_at: float
    ended_at: float | None = None
    reminded: bool = False


class _Pin0(msgspec.Struct):
    id: int
    by: Person | None
    at_person: Person | None
    topic: int
    pinned_at: float
    oops_at: float | None = None
    oops_by: Person | None = None
    resolved_at: float | None = None


class _Meeting0(msgspec.Struct):
    room: str
    settings: Settings = msgspec.field(default_factory=Settings)
    active: bool = False
    number: int = 0
    title: str = ""
    started_at: float | None = None
    topics: tuple[Topic, ...] = ()
    stack: tuple[Entry, ...] = ()
    turns: tuple[_Turn0, ...] = ()
    pins: tuple[_Pin0, ...] = ()
    closed: bool = False
    next_seq: int = 0
    priority: frozenset[str] = frozenset()
    kept_priority: frozenset[str] = frozenset()
    facilitators: frozenset[str] = frozenset()


def _tallies(turns: list[_Turn0]) -> tuple[Tally, ...]:
    out: dict[str, Tally] = {}
    for turn in turns:
        seconds = max(0.0, (turn.ended_at or turn.started_at) - turn.started_at)
        before = out.get(turn.person.id, Tally(turn.person))
        out[turn.person.id] = Tally(turn.person, before.turns + 1, before.seconds + seconds)
    return tuple(out.values())


def migrate_0(old: _Meeting0) -> Meeting:
    """Shape 0 -> 1: fold the turns into tallies, keep the current turn, topic and open pins."""
    topic = old.topics[-1] if old.topics else Topic(0, "", 0.0)
    ended = [turn for turn in old.turns if turn.ended_at is not None]
    last = old.turns[-1] if old.turns else None
    current = (
        Turn(last.person, last.started_at, last.reminded)
        if last is not None and last.ended_at is None
        else None
    )
    return Meeting(
        room=old.room,
        settings=old.settings,
        active=old.active,
        number=old.number,
        title=old.title,
        started_at=old.started_at,
        topic=topic,
        stack=old.stack,
        current_turn=current,
        topic_tallies=_tallies([turn for turn in ended if turn.topic == topic.index]),
        meeting_tallies=_tallies(ended),
        pins=tuple(
            Pin(pin.id, pin.by, pin.at_person, pin.pinned_at, pin.oops_at, pin.oops_by)
            for pin in old.pins
            if pin.resolved_at is None
        ),
        last_pin=max((pin.id for pin in old.pins), default=0),
        closed=old.closed,
        next_seq=old.next_seq,
        priority=old.priority,
        priority_in_order=old.priority,
        kept_priority=old.kept_priority,
        facilitators=old.facilitators,
    )


# ---------------------------------------------------------------- the codec

_envelope_decoder = msgspec.json.Decoder(_Envelope)
_meeting_decoder = msgspec.json.Decoder(Meeting)
_meeting0_decoder = msgspec.json.Decoder(_Meeting0)
_record_decoder = msgspec.json.Decoder(Record)
_encoder = msgspec.json.Encoder()


def encode_meeting(meeting: Meeting) -> str:
    return _encoder.encode(_Shape1(SHAPE, meeting)).decode()


def decode_meeting(text: str | bytes) -> Meeting:
    """A stored meeting of any known shape, as the current `Meeting`."""
    envelope = _envelope_decoder.decode(text)
    if envelope.shape == 0:
        return migrate_0(_meeting0_decoder.decode(text))
    if envelope.shape > SHAPE or not envelope.meeting:
        raise ShapeTooNewError(
            f"stored meeting has shape {envelope.shape}, but this scorebot knows shapes up to"
            f" {SHAPE}: run a newer scorebot"
        )
    return _meeting_decoder.decode(envelope.meeting)


def encode_record(record: Record) -> str:
    return _encoder.encode(record).decode()


def decode_record(text: str | bytes) -> Record:
    return _record_decoder.decode(text)


class _Outgoing1(msgspec.Struct, frozen=True):
    """An outgoing message as stored: the target is a room or a person, never both."""

    txn: str
    kind: OutKind
    text: str
    html: str
    room: str | None = None
    user: str | None = None
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    answers: str | None = None


_outgoing_decoder = msgspec.json.Decoder(_Outgoing1)


def encode_outgoing(message: Outgoing) -> str:
    target = message.target
    room = target.room if isinstance(target, ToRoom) else None
    user = target.user if isinstance(target, ToPerson) else None
    stored = _Outgoing1(
        message.txn,
        message.kind,
        message.text,
        message.html,
        room,
        user,
        message.mentions,
        message.reply_to,
        message.answers,
    )
    return _encoder.encode(stored).decode()


def decode_outgoing(text: str | bytes) -> Outgoing:
    stored = _outgoing_decoder.decode(text)
    target: Target = ToRoom(stored.room) if stored.room is not None else ToPerson(stored.user or "")
    return Outgoing(
        stored.txn,
        target,
        stored.kind,
        stored.text,
        stored.html,
        stored.mentions,
        stored.reply_to,
        stored.answers,
    )
