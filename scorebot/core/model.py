"""The meeting's vocabulary: signals that come in and the state they change."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from scorebot.core.ids import guest_id, is_guest_id

IN_ROOM = "in the room"
"""how an unnamed person in the room is shown on the stack: "in the room 1" """


class Source(enum.Enum):
    """The channel a signal came through; every channel gets the same rules."""

    CHAT = "chat"
    REACTION = "reaction"
    CALL_HAND = "call hand"
    VOICE = "voice"
    DIRECT = "direct message"
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
        return Person(id=guest_id(clean), name=clean)

    @staticmethod
    def in_room(number: int) -> Person:
        """Someone in the room who asked to speak by voice and was not named (yet)."""
        return Person.guest(f"{IN_ROOM} {number}")

    @property
    def is_guest(self) -> bool:
        return is_guest_id(self.id)


# ---------------------------------------------------------------- cues


@dataclass(frozen=True, slots=True)
class Join:
    """Put someone on the stack: yourself (who=None) or, for a facilitator, anyone."""

    who: Person | None = None
    lane: Lane = Lane.REGULAR


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """Someone in the room asked to speak (a spoken "stack" with no name): they join as
    "in the room N", numbered in the meeting, until a facilitator renames them."""

    lane: Lane = Lane.REGULAR


@dataclass(frozen=True, slots=True)
class Rename:
    """A facilitator gives "in the room N" a name: a member or an in-room guest."""

    number: int
    who: Person


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
    """Acknowledge an ouch: the one aimed at the sender, else one aimed at nobody;
    `pin` claims that pin by number."""

    pin: int | None = None


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
class Later:
    """A member steps back on the stack: one place, or (to_end) to the end of their lane."""

    to_end: bool = False


@dataclass(frozen=True, slots=True)
class Undo:
    """A facilitator takes back the last change they made to the stack by hand."""


@dataclass(frozen=True, slots=True)
class SetHeadsUp:
    """Switch the "you are next" mention on or off for this meeting."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class Tick:
    """The clock: lets the meeting send a wrap-up reminder."""


Cue = (
    Join
    | JoinRoom
    | Rename
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
    | Later
    | Undo
    | SetHeadsUp
    | Tick
)


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
    room_name: str = ""
    """the room's name as people see it, if the adapter knows it (for the minutes)"""


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
    """time check: remind the speaker to wrap up after this many seconds; 0 = off"""
    heads_up: bool = True
    """mention the person who is next, so their client announces it"""


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
    waived: bool = False
    """the person stepped back to the end of their lane: no lift counts for them"""
    after: str | None = None
    """the person stepped back one place, behind this person (a person id)"""


@dataclass(frozen=True, slots=True)
class Turn:
    """The turn being spoken now (ended turns live on only in the tallies and minutes)."""

    person: Person
    started_at: float
    reminded: bool = False
    """the time check was sent"""

    def seconds(self, now: float) -> float:
        return max(0.0, now - self.started_at)


@dataclass(frozen=True, slots=True)
class Tally:
    """How much one person has spoken: ended turns only."""

    person: Person
    turns: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Pin:
    """An open ouch: a moment of harm pinned for discussion after the current one."""

    id: int
    by: Person | None
    """None when sent anonymously: shown as "someone", stored nowhere"""
    at_person: Person | None
    """whom it is aimed at; None: nobody in particular"""
    pinned_at: float
    oops_at: float | None = None
    oops_by: Person | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    index: int
    title: str
    started_at: float


class StackAction(enum.Enum):
    """A facilitator's change to the stack by hand: what "undo" can take back."""

    PUT_ON = "put on"
    TOOK_OFF = "took off"
    MOVED = "moved"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class Undoable:
    """The last hand change to the stack, and the stack as it was before it."""

    action: StackAction
    by: Person
    person: Person | None
    """whom it was about (None for clearing the stack)"""
    stack: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Meeting:
    """Everything one room's meeting needs, as an immutable value.

    Only what the rules need is kept, so the state does not grow with the meeting: the
    current turn, tallies of ended turns, the current topic and open pins. The history
    (every turn, topic and pin) is in the minutes.
    """

    room: str
    settings: Settings = field(default_factory=Settings)
    active: bool = False
    number: int = 0
    """how many meetings this room has started; names the current one"""
    title: str = ""
    started_at: float | None = None
    topic: Topic = field(default_factory=lambda: Topic(0, "", 0.0))
    stack: tuple[Entry, ...] = ()
    current_turn: Turn | None = None
    topic_tallies: tuple[Tally, ...] = ()
    """ended turns in the current topic, per person, in order of first turn"""
    meeting_tallies: tuple[Tally, ...] = ()
    """ended turns in the whole meeting, per person, in order of first turn"""
    pins: tuple[Pin, ...] = ()
    """open pins only: a resolved pin lives on in the minutes"""
    last_pin: int = 0
    """the highest pin number given so far (numbering starts again with a meeting)"""
    closed: bool = False
    next_seq: int = 0
    priority: frozenset[str] = frozenset()
    """private: person ids with self-identified or facilitator-marked priority"""
    priority_in_order: frozenset[str] = frozenset()
    """private: the priority the stack's order reflects; `priority` catches up at the next
    public change, so the moment someone asked cannot be read from the order changing"""
    kept_priority: frozenset[str] = frozenset()
    """private: priority the person asked to keep across meetings in this room"""
    facilitators: frozenset[str] = frozenset()
    """people named facilitator in this room by someone who may facilitate"""
    undo: Undoable | None = None
    """the last hand change to the stack, while nothing else has changed it since"""
    last_in_room: int = 0
    """the highest "in the room" number given in this meeting"""

    def position(self, person_id: str) -> int | None:
        """1-based place on the stack, or None."""
        for index, entry in enumerate(self.stack):
            if entry.person.id == person_id:
                return index + 1
        return None
