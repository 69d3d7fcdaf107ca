"""The meeting's vocabulary: signals that come in and the state they change."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Source(enum.Enum):
    """The channel a signal came through; every channel gets the same rules."""

    CHAT = "chat"
    REACTION = "reaction"
    CALL_HAND = "call hand"
    VOICE = "voice"
    DIRECT = "direct message"
    FACILITATOR = "facilitator"
    CLOCK = "clock"


class Lane(enum.IntEnum):
    """Stack lanes, most urgent first (the int value is the lane's rank)."""

    PROCESS = 0
    CLARIFYING = 1
    DIRECT = 2
    REGULAR = 3


class Scope(enum.Enum):
    """What "has already spoken" counts: this topic, or the whole meeting."""

    TOPIC = "topic"
    MEETING = "meeting"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the meeting: a Matrix user id, or `guest:<name>` for an in-room guest."""

    id: str
    name: str

    @staticmethod
    def guest(name: str) -> Person:
        clean = " ".join(name.split())
        return Person(id=f"guest:{clean.casefold()}", name=clean)

    @property
    def is_guest(self) -> bool:
        return self.id.startswith("guest:")


# ---------------------------------------------------------------- cues


@dataclass(frozen=True, slots=True)
class Join:
    """Put someone on the stack: yourself (who=None) or, for a facilitator, anyone."""

    who: Person | None = None
    lane: Lane = Lane.REGULAR


@dataclass(frozen=True, slots=True)
class Leave:
    """Take someone off the stack: yourself (who=None) or, for a facilitator, anyone."""

    who: Person | None = None


@dataclass(frozen=True, slots=True)
class Next:
    """The facilitator calls the next speaker; the current turn ends."""


@dataclass(frozen=True, slots=True)
class Done:
    """The current speaker yields (or a facilitator ends the turn)."""


@dataclass(frozen=True, slots=True)
class Move:
    """A facilitator places someone at a position (1 is the top)."""

    who: Person
    position: int


@dataclass(frozen=True, slots=True)
class Clear:
    """A facilitator empties the stack."""


@dataclass(frozen=True, slots=True)
class NewTopic:
    """A facilitator starts a new agenda item."""

    title: str


@dataclass(frozen=True, slots=True)
class StartMeeting:
    title: str = ""


@dataclass(frozen=True, slots=True)
class EndMeeting:
    pass


@dataclass(frozen=True, slots=True)
class CloseStack:
    """No new regular entries; points of process still get in."""


@dataclass(frozen=True, slots=True)
class OpenStack:
    pass


@dataclass(frozen=True, slots=True)
class SetLanes:
    """Switch lanes on, or off for the plain seed method."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class Ouch:
    """Pin a moment of harm.

    `at` names who it is aimed at (the adapter resolves "the sender of the message this
    replies to"); None means the current speaker, if any. Anonymous ouches (sent
    privately) never record who sent them.
    """

    at: Person | None = None
    anonymous: bool = False


@dataclass(frozen=True, slots=True)
class Oops:
    """Acknowledge the open ouch aimed at the sender, else the latest open one."""


@dataclass(frozen=True, slots=True)
class Resolve:
    """A facilitator closes a pin after the harm was discussed (None: the oldest open)."""

    pin: int | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    """Private priority: self-identification (who=None) or a facilitator's mark.

    `keep` asks to remember it for later meetings in this room.
    """

    on: bool
    who: Person | None = None
    keep: bool = False


@dataclass(frozen=True, slots=True)
class Facilitate:
    """A facilitator names (or un-names) another facilitator for this room."""

    who: Person
    on: bool = True


@dataclass(frozen=True, slots=True)
class Status:
    pass


@dataclass(frozen=True, slots=True)
class WhereAmI:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Minutes:
    pass


@dataclass(frozen=True, slots=True)
class Tick:
    """The clock: lets the meeting send a wrap-up reminder."""


Cue = (
    Join
    | Leave
    | Next
    | Done
    | Move
    | Clear
    | NewTopic
    | StartMeeting
    | EndMeeting
    | CloseStack
    | OpenStack
    | SetLanes
    | Ouch
    | Oops
    | Resolve
    | Priority
    | Facilitate
    | Status
    | WhereAmI
    | Help
    | Minutes
    | Tick
)

FACILITATOR_CUES: tuple[type, ...] = (
    Next,
    Move,
    Clear,
    NewTopic,
    StartMeeting,
    EndMeeting,
    CloseStack,
    OpenStack,
    SetLanes,
    Resolve,
    Facilitate,
)
"""Cues only a facilitator may give (acting for someone else is checked separately)."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One thing someone did, from any channel, ready for the meeting."""

    key: str
    """idempotency key: the Matrix event id, or a unique id for voice and clock"""
    sender: Person
    cue: Cue
    source: Source
    at: float
    """seconds since the Unix epoch, from the adapter's clock or the event's timestamp"""
    facilitator: bool = False
    """the adapter found the sender may facilitate (e.g. Matrix power level)"""


# ---------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class Settings:
    lanes: bool = True
    spoken_scope: Scope = Scope.TOPIC
    significant_turns: int = 2
    """turns in scope after which private priority no longer lifts someone; 0 = never"""
    significant_seconds: float = 180.0
    """speaking seconds in scope after which private priority no longer lifts; 0 = never"""
    wrap_up_seconds: float = 0.0
    """remind the speaker to wrap up after this many seconds; 0 = off"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One person waiting on the stack."""

    person: Person
    lane: Lane
    seq: int
    """joining order across the meeting: ties keep it"""
    source: Source
    joined_at: float
    pinned: bool = False
    """a facilitator placed this entry by hand; the rules leave it where it is"""


@dataclass(frozen=True, slots=True)
class Turn:
    person: Person
    topic: int
    started_at: float
    ended_at: float | None = None
    reminded: bool = False

    def seconds(self, now: float) -> float:
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - self.started_at)


@dataclass(frozen=True, slots=True)
class Pin:
    """An ouch: a moment of harm pinned for discussion after the current one."""

    id: int
    by: Person | None
    """None when sent anonymously: shown as "someone", stored nowhere"""
    at_person: Person | None
    topic: int
    pinned_at: float
    oops_at: float | None = None
    oops_by: Person | None = None
    resolved_at: float | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class Topic:
    index: int
    title: str
    started_at: float


@dataclass(frozen=True, slots=True)
class Meeting:
    """Everything one room's meeting needs, as an immutable value."""

    room: str
    settings: Settings = field(default_factory=Settings)
    active: bool = False
    number: int = 0
    """how many meetings this room has started; names the current one"""
    title: str = ""
    started_at: float | None = None
    topics: tuple[Topic, ...] = ()
    stack: tuple[Entry, ...] = ()
    turns: tuple[Turn, ...] = ()
    pins: tuple[Pin, ...] = ()
    closed: bool = False
    next_seq: int = 0
    priority: frozenset[str] = frozenset()
    """private: person ids with self-identified or facilitator-marked priority"""
    kept_priority: frozenset[str] = frozenset()
    """private: priority the person asked to keep across meetings in this room"""
    facilitators: frozenset[str] = frozenset()
    """people named facilitator in this room by someone who may facilitate"""

    @property
    def topic(self) -> int:
        return self.topics[-1].index if self.topics else 0

    @property
    def current_turn(self) -> Turn | None:
        if self.turns and self.turns[-1].ended_at is None:
            return self.turns[-1]
        return None

    def position(self, person_id: str) -> int | None:
        """1-based place on the stack, or None."""
        for index, entry in enumerate(self.stack):
            if entry.person.id == person_id:
                return index + 1
        return None
