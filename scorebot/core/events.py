"""What happened in a meeting, in the past tense: the core's only output besides state."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from scorebot.core.model import Lane, Person, Pin, Source


class Reason(enum.Enum):
    """Why a signal changed nothing; the renderer explains each in plain words."""

    NOT_FACILITATOR = "not facilitator"
    NO_MEETING = "no meeting"
    MEETING_RUNNING = "meeting running"
    NOT_SPEAKER = "not speaker"
    NO_SUCH_POSITION = "no such position"
    NO_SUCH_PIN = "no such pin"
    STACK_CLOSED = "stack closed"


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
    moment: str
    """"topic" or "meeting": what just ended"""


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
    open_pins: int
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


@dataclass(frozen=True, slots=True)
class Refused:
    """A signal that changed nothing, with the reason."""

    reason: Reason
    detail: str = ""


Event = (
    MeetingStarted
    | MeetingEnded
    | TopicStarted
    | PinsToDiscuss
    | Joined
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
    | Refused
)
