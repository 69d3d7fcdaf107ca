"""What happened in a meeting, in the past tense: the core's only output besides state."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from scorebot.core.model import Lane, Person, Pin, Source, StackAction
from scorebot.core.rules import CueKind


class Moment(enum.Enum):
    """What just ended, when open pins are brought back."""

    TOPIC = "topic"
    MEETING = "meeting"


@dataclass(frozen=True, slots=True)
class StackLine:
    """One line of a public view of the stack: no reason for a place is ever given."""

    position: int
    person: Person
    lane: Lane


@dataclass(frozen=True, slots=True)
class SpeakingTotal:
    person: Person
    turns: int
    seconds: float


@dataclass(frozen=True, slots=True)
class MeetingStarted:
    title: str
    number: int
    automatic: bool = False
    """started by someone joining the stack, not by a facilitator"""
    room_name: str = ""
    """the room's name as people see it, when the adapter knew it"""


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    title: str
    number: int
    totals: tuple[SpeakingTotal, ...]
    left_on_stack: int


@dataclass(frozen=True, slots=True)
class TopicStarted:
    index: int
    title: str
    carried_over: int
    """people still on the stack from the last topic"""


@dataclass(frozen=True, slots=True)
class PinsToDiscuss:
    """Open ouches brought back after the current discussion."""

    pins: tuple[Pin, ...]
    moment: Moment


@dataclass(frozen=True, slots=True)
class Joined:
    person: Person
    lane: Lane
    position: int
    size: int
    source: Source
    by: Person | None = None
    """a facilitator who put them on the stack, if not themselves"""
    lane_changed: bool = False
    lanes_off: bool = False
    """they asked for a lane but lanes are switched off"""


@dataclass(frozen=True, slots=True)
class Renamed:
    """A facilitator named "in the room N": the entry (or the turn) is now this person's."""

    number: int
    person: Person
    position: int | None
    """their place on the stack, or None when they are speaking now"""
    size: int


@dataclass(frozen=True, slots=True)
class AlreadyOnStack:
    person: Person
    position: int
    lane: Lane


@dataclass(frozen=True, slots=True)
class Left:
    person: Person
    source: Source
    by: Person | None = None


@dataclass(frozen=True, slots=True)
class NotOnStack:
    person: Person
    asked_by_self: bool


@dataclass(frozen=True, slots=True)
class Called:
    person: Person
    lane: Lane
    up_next: Person | None
    remaining: int
    heads_up: bool = True
    """mention the next person ("you are next")"""


@dataclass(frozen=True, slots=True)
class TurnEnded:
    person: Person
    seconds: float
    yielded: bool
    """the speaker said they were done"""


@dataclass(frozen=True, slots=True)
class StackEmpty:
    pass


@dataclass(frozen=True, slots=True)
class Moved:
    person: Person
    position: int
    size: int


@dataclass(frozen=True, slots=True)
class Cleared:
    removed: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class StackClosed:
    pass


@dataclass(frozen=True, slots=True)
class StackOpened:
    pass


@dataclass(frozen=True, slots=True)
class LanesChanged:
    enabled: bool


@dataclass(frozen=True, slots=True)
class HeadsUpChanged:
    enabled: bool


@dataclass(frozen=True, slots=True)
class UpNext:
    """The person first on the stack changed while someone speaks: a heads-up for them."""

    person: Person


@dataclass(frozen=True, slots=True)
class SteppedBack:
    """A member stepped back on the stack themselves ("later" or "last")."""

    person: Person
    position: int
    size: int
    to_end: bool


@dataclass(frozen=True, slots=True)
class Undone:
    """A facilitator took back their last hand change to the stack."""

    action: StackAction
    person: Person | None
    """whom the change was about (None for clearing the stack)"""
    by: Person
    """who made the change that was undone"""


@dataclass(frozen=True, slots=True)
class OuchPinned:
    pin: Pin


@dataclass(frozen=True, slots=True)
class OopsAcknowledged:
    pin: Pin
    by: Person


@dataclass(frozen=True, slots=True)
class PinResolved:
    pin: Pin


@dataclass(frozen=True, slots=True)
class NoOpenPin:
    pass


@dataclass(frozen=True, slots=True)
class PriorityNoted:
    """Private: only ever rendered to the person who sent the signal."""

    person: Person
    on: bool
    keep: bool
    by_facilitator: bool
    meeting_running: bool = True
    """False between meetings: then it lasts until the next meeting ends"""


@dataclass(frozen=True, slots=True)
class FacilitatorNamed:
    person: Person
    on: bool


@dataclass(frozen=True, slots=True)
class StatusShown:
    active: bool
    title: str
    topic: str
    speaker: Person | None
    speaker_seconds: float
    stack: tuple[StackLine, ...]
    closed: bool
    pins: tuple[Pin, ...]
    """open pins, by number"""
    totals: tuple[SpeakingTotal, ...]


@dataclass(frozen=True, slots=True)
class WhereShown:
    person: Person
    position: int | None
    size: int
    speaking: bool
    ahead_by_lane: int = 0
    """people ahead in a more urgent lane"""
    ahead_placed: int = 0
    """people ahead because a facilitator placed them"""


@dataclass(frozen=True, slots=True)
class HelpShown:
    facilitator: bool
    lanes: bool


@dataclass(frozen=True, slots=True)
class MinutesAsked:
    number: int


@dataclass(frozen=True, slots=True)
class WrapUpReminded:
    person: Person
    seconds: float


# ---------------------------------------------------------------- refusals: nothing changed


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """Only a facilitator (or the speaker) may send this cue."""

    kind: CueKind


@dataclass(frozen=True, slots=True)
class NoMeetingRunning:
    kind: CueKind


@dataclass(frozen=True, slots=True)
class MeetingRunning:
    title: str


@dataclass(frozen=True, slots=True)
class NotSpeaker:
    pass


@dataclass(frozen=True, slots=True)
class NoSuchPlace:
    size: int
    """people on the stack: the places that exist are 1 to size"""


@dataclass(frozen=True, slots=True)
class NoSuchPin:
    pin: int


@dataclass(frozen=True, slots=True)
class StackIsClosed:
    person: Person
    """who was not added"""


@dataclass(frozen=True, slots=True)
class NothingToUndo:
    pass


@dataclass(frozen=True, slots=True)
class OuchAimedElsewhere:
    """An "oops" from someone the open ouch is not aimed at: it is not theirs to take."""

    pin: Pin


@dataclass(frozen=True, slots=True)
class NobodyBehind:
    """A "later" from someone already last in their lane."""

    person: Person
    position: int


@dataclass(frozen=True, slots=True)
class NoRoomEntry:
    """A rename of an "in the room" number that is neither waiting nor speaking."""

    number: int


Refused = (
    NotAllowed
    | NoMeetingRunning
    | MeetingRunning
    | NotSpeaker
    | NoSuchPlace
    | NoSuchPin
    | StackIsClosed
    | NothingToUndo
    | OuchAimedElsewhere
    | NobodyBehind
    | NoRoomEntry
)
"""A signal that changed nothing, and why: each kind carries what its reply needs."""


Event = (
    MeetingStarted
    | MeetingEnded
    | TopicStarted
    | PinsToDiscuss
    | Joined
    | Renamed
    | AlreadyOnStack
    | Left
    | NotOnStack
    | Called
    | TurnEnded
    | StackEmpty
    | Moved
    | Cleared
    | StackClosed
    | StackOpened
    | LanesChanged
    | HeadsUpChanged
    | UpNext
    | SteppedBack
    | Undone
    | OuchPinned
    | OopsAcknowledged
    | PinResolved
    | NoOpenPin
    | PriorityNoted
    | FacilitatorNamed
    | StatusShown
    | WhereShown
    | HelpShown
    | MinutesAsked
    | WrapUpReminded
    | NotAllowed
    | NoMeetingRunning
    | MeetingRunning
    | NotSpeaker
    | NoSuchPlace
    | NoSuchPin
    | StackIsClosed
    | NothingToUndo
    | OuchAimedElsewhere
    | NobodyBehind
    | NoRoomEntry
)
