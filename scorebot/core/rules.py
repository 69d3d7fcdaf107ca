"""The rules of the Modified Progressive Stack and of Oops/Ouch, in one place.

Rules
=====
Who speaks next (the stack)
  1. Lanes first, most urgent first: point of process, then clarifying question (a pause
     to explain a word or a reference), then direct response, then the regular stack.
     With lanes switched off, everyone is on the regular stack.
  2. Within a lane, two things lift a person:
       a. they have not spoken yet in this topic (or in this meeting, if the meeting
          is set to count that way);
       b. they have private priority (they told the bot privately, or a facilitator
          marked them) and have not already contributed significantly: fewer than
          `significant_turns` turns and fewer than `significant_seconds` seconds of
          speaking in this topic (a threshold of 0 is never reached).
     Someone lifted by both goes ahead of someone lifted by one, who goes ahead of
     someone lifted by neither.
  3. Ties keep joining order.
  4. A facilitator can move someone by hand. That person keeps the place they were put
     in (moving up as people ahead are called); the rules arrange everyone else.
  5. Nobody is on the stack twice. Joining again only changes your lane.
  6. A closed stack takes only points of process until it is opened again. With lanes
     switched off there is no point of process, so a closed stack takes nobody.
  7. You can step back yourself: "later" lets the person behind you in your lane go
     first; "last" puts you at the end of your lane, as if you had just joined and had
     no lift (people who join after you may still be lifted ahead of you).
  8. Private priority asked for (or marked) changes the order only at the next change
     everyone can see (someone joins, leaves, is called or moved), so nobody can tell
     who asked from the moment the order changed.
  9. A facilitator can "undo" their last change to the stack by hand (putting someone
     on, taking someone off, moving someone, clearing the stack), as long as nothing else
     changed the stack since. Calling the next speaker cannot be undone: put the person
     back with "stack NAME" and "move NAME to 1".
  10. Someone in the room who asks to speak by voice without a name joins as "in the
     room 1", "in the room 2" and so on (numbered in each meeting). A facilitator can
     rename them ("rename room 1 Maria"); they keep their place in the order the rules give.
  Places are explained without reasons: nobody is ever told that someone has priority.

Oops and ouch
  1. "ouch" pins a moment of harm. It is aimed at the person named, else at the person
     whose message it replies to, else at whoever is speaking; never at the person who
     said ouch (then it is aimed at nobody in particular). Sent privately to the bot, it
     shows as "someone" and the sender is recorded nowhere.
  2. The person who made the mistake says "oops". "oops" acknowledges the open ouch aimed
     at you, else an open ouch aimed at nobody in particular; never one aimed at someone
     else. "oops 2" claims pin 2, whoever it was aimed at.
  3. A pin stays open until a facilitator says "resolved". Open pins are brought back
     when the topic ends and when the meeting ends: the harm is discussed after the
     current discussion. Pins still open when a meeting ends are noted in its minutes
     and stay open into the next meeting.
  4. The minutes note every ouch, oops and resolution, clearly marked.

Who may say what is in one table below, `POLICY`: the bot's replies, its help and the
meeting itself all read it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Entry,
    Facilitate,
    Help,
    Join,
    JoinRoom,
    Lane,
    Later,
    Leave,
    Meeting,
    Minutes,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Pin,
    Priority,
    Rename,
    Resolve,
    Scope,
    SetHeadsUp,
    SetLanes,
    StartMeeting,
    Status,
    Tally,
    Tick,
    Undo,
    WhereAmI,
)

# ---------------------------------------------------------------- who may say what


class CueKind(enum.Enum):
    """Every distinct thing people can ask for; one row of the policy table each."""

    JOIN = "join"
    JOIN_PROCESS = "join process"
    JOIN_CLARIFYING = "join clarifying"
    JOIN_DIRECT = "join direct"
    JOIN_ROOM = "join in the room"
    RENAME = "rename"
    LEAVE = "leave"
    LATER = "later"
    LAST = "last"
    DONE = "done"
    OUCH = "ouch"
    OOPS = "oops"
    STATUS = "status"
    WHERE = "where"
    HELP = "help"
    MINUTES = "minutes"
    PRIORITY = "priority"
    NEXT = "next"
    PUT_ON = "put on"
    TAKE_OFF = "take off"
    MOVE = "move"
    CLEAR = "clear"
    UNDO = "undo"
    TOPIC = "topic"
    START = "start"
    END = "end"
    CLOSE = "close"
    OPEN = "open"
    LANES = "lanes"
    HEADS_UP = "heads up"
    RESOLVE = "resolve"
    FACILITATE = "facilitate"
    MARK = "mark"
    TICK = "tick"


class Who(enum.Enum):
    """Who may send a cue."""

    ANYONE = "anyone"
    SPEAKER = "the speaker"
    """the person who has the floor, or a facilitator while someone speaks"""
    FACILITATOR = "a facilitator"
    CLOCK = "the clock"


class Where(enum.Enum):
    """Where a cue is understood."""

    ROOM = "the meeting room"
    PRIVATE = "a private chat with the bot"
    ANYWHERE = "either"


class NoMeeting(enum.Enum):
    """What a cue does when no meeting is running."""

    REFUSED = "refused"
    WORKS = "works"
    STARTS = "starts one"
    """a meeting starts, so a hand raised before the facilitator arrives is not lost"""


@dataclass(frozen=True, slots=True)
class Policy:
    who: Who
    where: Where
    no_meeting: NoMeeting
    action: str
    """plain words after "Only a facilitator can …" and "No meeting is running, so I cannot …" """
    lane: Lane | None = None
    """the lane it joins, for cues that put someone on the stack"""
    closed_stack: bool = True
    """a closed stack still takes it (for joins: only a point of process)"""


_R, _P, _A = Where.ROOM, Where.PRIVATE, Where.ANYWHERE
_NO, _OK, _GO = NoMeeting.REFUSED, NoMeeting.WORKS, NoMeeting.STARTS
_ANY, _FAC = Who.ANYONE, Who.FACILITATOR

POLICY: dict[CueKind, Policy] = {
    CueKind.JOIN: Policy(_ANY, _R, _GO, "join the stack", Lane.REGULAR, closed_stack=False),
    CueKind.JOIN_PROCESS: Policy(_ANY, _R, _GO, "raise a point of process", Lane.PROCESS),
    CueKind.JOIN_CLARIFYING: Policy(
        _ANY, _R, _GO, "ask a clarifying question", Lane.CLARIFYING, closed_stack=False
    ),
    CueKind.JOIN_DIRECT: Policy(
        _ANY, _R, _GO, "give a direct response", Lane.DIRECT, closed_stack=False
    ),
    # A trusted room microphone counts as a facilitator: it speaks for people in the room.
    CueKind.JOIN_ROOM: Policy(
        _FAC, _R, _GO, "put someone in the room on the stack", Lane.REGULAR, closed_stack=False
    ),
    CueKind.RENAME: Policy(_FAC, _R, _NO, "rename someone on the stack"),
    CueKind.LEAVE: Policy(_ANY, _R, _NO, "take you off the stack"),
    CueKind.LATER: Policy(_ANY, _R, _NO, "move you back"),
    CueKind.LAST: Policy(_ANY, _R, _NO, "move you back"),
    CueKind.DONE: Policy(Who.SPEAKER, _R, _NO, "end a turn"),
    CueKind.OUCH: Policy(_ANY, _A, _GO, "pin an ouch"),
    CueKind.OOPS: Policy(_ANY, _R, _NO, "take an oops"),
    CueKind.STATUS: Policy(_ANY, _A, _OK, "show the stack"),
    CueKind.WHERE: Policy(_ANY, _A, _OK, "tell you your place"),
    CueKind.HELP: Policy(_ANY, _A, _OK, "help"),
    CueKind.MINUTES: Policy(_ANY, _R, _OK, "show the minutes"),
    CueKind.PRIORITY: Policy(_ANY, _P, _OK, "note priority"),
    CueKind.NEXT: Policy(_FAC, _R, _NO, "call the next speaker"),
    CueKind.PUT_ON: Policy(_FAC, _R, _GO, "put someone else on the stack"),
    CueKind.TAKE_OFF: Policy(_FAC, _R, _NO, "take someone else off the stack"),
    CueKind.MOVE: Policy(_FAC, _R, _NO, "move people on the stack"),
    CueKind.CLEAR: Policy(_FAC, _R, _NO, "clear the stack"),
    CueKind.UNDO: Policy(_FAC, _R, _NO, "undo a change to the stack"),
    CueKind.TOPIC: Policy(_FAC, _R, _NO, "start a new topic"),
    CueKind.START: Policy(_FAC, _R, _OK, "start a meeting"),
    CueKind.END: Policy(_FAC, _R, _NO, "end the meeting"),
    CueKind.CLOSE: Policy(_FAC, _R, _NO, "close the stack"),
    CueKind.OPEN: Policy(_FAC, _R, _NO, "open the stack"),
    CueKind.LANES: Policy(_FAC, _R, _OK, "switch lanes on or off"),
    CueKind.HEADS_UP: Policy(_FAC, _R, _OK, "switch the heads-up on or off"),
    CueKind.RESOLVE: Policy(_FAC, _R, _OK, "mark an ouch as resolved"),
    CueKind.FACILITATE: Policy(_FAC, _R, _OK, "name a facilitator"),
    CueKind.MARK: Policy(_FAC, _P, _OK, "give someone priority"),
    CueKind.TICK: Policy(Who.CLOCK, _R, _OK, "keep time"),
}
"""The one table of who may send each cue, where, and what it does with no meeting or a
closed stack. Resolving works between meetings: open pins outlive their meeting."""

_JOIN_KINDS = {
    Lane.REGULAR: CueKind.JOIN,
    Lane.PROCESS: CueKind.JOIN_PROCESS,
    Lane.CLARIFYING: CueKind.JOIN_CLARIFYING,
    Lane.DIRECT: CueKind.JOIN_DIRECT,
}

_SIMPLE_KINDS: dict[type, CueKind] = {
    JoinRoom: CueKind.JOIN_ROOM,
    Rename: CueKind.RENAME,
    Next: CueKind.NEXT,
    Done: CueKind.DONE,
    Move: CueKind.MOVE,
    Clear: CueKind.CLEAR,
    Undo: CueKind.UNDO,
    NewTopic: CueKind.TOPIC,
    StartMeeting: CueKind.START,
    EndMeeting: CueKind.END,
    CloseStack: CueKind.CLOSE,
    OpenStack: CueKind.OPEN,
    SetLanes: CueKind.LANES,
    SetHeadsUp: CueKind.HEADS_UP,
    Ouch: CueKind.OUCH,
    Oops: CueKind.OOPS,
    Resolve: CueKind.RESOLVE,
    Facilitate: CueKind.FACILITATE,
    Status: CueKind.STATUS,
    WhereAmI: CueKind.WHERE,
    Help: CueKind.HELP,
    Minutes: CueKind.MINUTES,
    Tick: CueKind.TICK,
}


def kind_of(cue: Cue, sender: Person) -> CueKind:
    """The policy row for a cue from this sender (acting for someone else is its own row)."""
    match cue:
        case Join(who=who, lane=lane):
            return CueKind.PUT_ON if _other(who, sender) else _JOIN_KINDS[lane]
        case Leave(who=who):
            return CueKind.TAKE_OFF if _other(who, sender) else CueKind.LEAVE
        case Priority(who=who):
            return CueKind.MARK if _other(who, sender) else CueKind.PRIORITY
        case Later(to_end=to_end):
            return CueKind.LAST if to_end else CueKind.LATER
        case _:
            return _SIMPLE_KINDS[type(cue)]


def _other(who: Person | None, sender: Person) -> bool:
    return who is not None and who.id != sender.id


def join_kind(lane: Lane) -> CueKind:
    return _JOIN_KINDS[lane]


def closed_stack_takes(lane: Lane, lanes_on: bool) -> bool:
    """Rule 6: whether a closed stack takes someone joining this lane."""
    effective = lane if lanes_on else Lane.REGULAR
    return POLICY[_JOIN_KINDS[effective]].closed_stack


def lanes_a_closed_stack_takes(lanes_on: bool) -> tuple[Lane, ...]:
    return tuple(lane for lane in Lane if lanes_on and closed_stack_takes(lane, lanes_on))


# ---------------------------------------------------------------- the order of the stack


def spoken(meeting: Meeting, scope: Scope, now: float) -> dict[str, Tally]:
    """Turns and seconds per person in the topic or the whole meeting, the current turn
    included (counted as a turn, with its seconds so far)."""
    tallies = meeting.topic_tallies if scope is Scope.TOPIC else meeting.meeting_tallies
    out = {tally.person.id: tally for tally in tallies}
    turn = meeting.current_turn
    if turn is not None:
        before = out.get(turn.person.id, Tally(turn.person))
        out[turn.person.id] = Tally(
            turn.person, before.turns + 1, before.seconds + turn.seconds(now)
        )
    return out


def lifts(meeting: Meeting, now: float) -> dict[str, int]:
    """How many of the two lifts (rule 2) each person on the stack has: 0, 1 or 2."""
    settings = meeting.settings
    in_topic = spoken(meeting, Scope.TOPIC, now)
    meeting_wide = settings.spoken_scope is Scope.MEETING
    in_scope = spoken(meeting, Scope.MEETING, now) if meeting_wide else in_topic
    result: dict[str, int] = {}
    for entry in meeting.stack:
        who = entry.person.id
        if entry.waived:
            result[who] = 0
            continue
        mine = in_topic.get(who, Tally(entry.person))
        significant = (0 < settings.significant_turns <= mine.turns) or (
            0 < settings.significant_seconds <= mine.seconds
        )
        priority = who in meeting.priority_in_order and not significant
        fresh = who not in in_scope or in_scope[who].turns == 0
        result[who] = int(fresh) + int(priority)
    return result


def lane_of(meeting: Meeting, entry: Entry) -> Lane:
    return entry.lane if meeting.settings.lanes else Lane.REGULAR


def order_key(meeting: Meeting, entry: Entry, lift: dict[str, int]) -> tuple[int, int, int]:
    """Rules 1-3 as a sort key, for everyone not placed by hand."""
    return (lane_of(meeting, entry), -lift[entry.person.id], entry.seq)


def arrange(meeting: Meeting, now: float) -> tuple[Entry, ...]:
    """The stack in speaking order: rules 1-4 and 7 applied to `meeting.stack`."""
    lift = lifts(meeting, now)
    waiting = {entry.person.id for entry in meeting.stack}
    free = sorted(
        (
            entry if entry.after is None or entry.after in waiting else replace(entry, after=None)
            for entry in meeting.stack
            if not entry.pinned
        ),
        key=lambda e: order_key(meeting, e, lift),
    )
    # Rule 7, "later": behind the person they let go first, while that person waits.
    for entry in [e for e in free if e.after is not None]:
        index = free.index(entry)
        # The person let ahead may have been placed by hand since: they are not among
        # the free entries, and the placing already decides their order.
        target = next((i for i, e in enumerate(free) if e.person.id == entry.after), None)
        if (
            target is not None
            and target > index
            and lane_of(meeting, free[target]) == lane_of(meeting, entry)
        ):
            free.insert(target, free.pop(index))
    # Placed entries keep their index; everyone else flows around them.
    for index, entry in enumerate(meeting.stack):
        if entry.pinned:
            free.insert(min(index, len(free)), entry)
    return tuple(free)


# ---------------------------------------------------------------- oops and ouch


def aimed_at(target: Person | None, speaker: Person | None, sender: Person) -> Person | None:
    """Oops/ouch rule 1: the person named or replied to, else the speaker; never the sender."""
    aimed = target if target is not None else speaker
    if aimed is not None and aimed.id == sender.id:
        return None
    return aimed


@dataclass(frozen=True, slots=True)
class OopsChoice:
    """What an "oops" acknowledges: a pin, or (`elsewhere`) an ouch aimed at someone else."""

    pin: Pin | None
    elsewhere: Pin | None = None


def pin_for_oops(pins: Iterable[Pin], sender: Person, number: int | None) -> OopsChoice:
    """Oops/ouch rule 2."""
    open_pins = list(pins)
    if number is not None:
        return OopsChoice(next((pin for pin in open_pins if pin.id == number), None))
    waiting = [pin for pin in open_pins if pin.oops_at is None]
    mine = [pin for pin in waiting if pin.at_person is not None and pin.at_person.id == sender.id]
    nobody = [pin for pin in waiting if pin.at_person is None]
    if mine or nobody:
        return OopsChoice((mine or nobody)[-1])
    return OopsChoice(None, waiting[-1] if waiting else None)


def pin_to_resolve(pins: Iterable[Pin], pin_id: int | None) -> Pin | None:
    """The pin a facilitator named, else the oldest open one."""
    open_pins = list(pins)
    if pin_id is None:
        return open_pins[0] if open_pins else None
    return next((pin for pin in open_pins if pin.id == pin_id), None)
