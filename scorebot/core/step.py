"""`step(meeting, signal) -> (meeting, events)`: the whole meeting as a pure function."""

from __future__ import annotations

from dataclasses import replace

from scorebot.core import events as ev
from scorebot.core.model import (
    Clear,
    CloseStack,
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
    Signal,
    StackAction,
    StartMeeting,
    Status,
    Tally,
    Tick,
    Topic,
    Turn,
    Undo,
    Undoable,
    WhereAmI,
)
from scorebot.core.rules import (
    POLICY,
    NoMeeting,
    Who,
    aimed_at,
    arrange,
    closed_stack_takes,
    kind_of,
    lane_of,
    pin_for_oops,
    pin_to_resolve,
    spoken,
)

Result = tuple[Meeting, list[ev.Event]]


def is_facilitator(meeting: Meeting, signal: Signal) -> bool:
    return signal.facilitator or signal.sender.id in meeting.facilitators


def step(meeting: Meeting, signal: Signal) -> Result:
    """Apply one signal. Never raises for any cue on any meeting; mistakes become events."""
    cue = signal.cue
    kind = kind_of(cue, signal.sender)
    policy = POLICY[kind]
    facilitator = is_facilitator(meeting, signal)
    if policy.who is Who.FACILITATOR and not facilitator:
        return meeting, [ev.NotAllowed(kind)]
    if isinstance(cue, Tick):
        return _tick(meeting, signal)
    events: list[ev.Event] = []
    if not meeting.active and policy.no_meeting is not NoMeeting.WORKS:
        if policy.no_meeting is NoMeeting.REFUSED:
            return meeting, [ev.NoMeetingRunning(kind)]
        meeting, events = _start(meeting, signal, "", automatic=True)
    before = meeting
    meeting, more = _dispatch(meeting, signal, facilitator)
    if meeting.undo is before.undo and meeting.stack != before.stack:
        meeting = replace(meeting, undo=None)  # undo takes back only the latest change
    return meeting, events + more + _heads_up(before, meeting, signal, more)


def _dispatch(meeting: Meeting, signal: Signal, facilitator: bool) -> Result:
    cue = signal.cue
    match cue:
        case Join():
            return _join(meeting, signal, cue)
        case JoinRoom():
            return _join_room(meeting, signal, cue)
        case Rename():
            return _rename(meeting, signal, cue)
        case Leave():
            return _leave(meeting, signal, cue)
        case Later():
            return _later(meeting, signal, cue)
        case Next():
            return _next(meeting, signal)
        case Done():
            return _done(meeting, signal, facilitator)
        case Move():
            return _move(meeting, signal, cue)
        case Clear():
            removed = tuple(entry.person for entry in meeting.stack)
            undo = Undoable(StackAction.CLEARED, signal.sender, None, meeting.stack)
            return replace(meeting, stack=(), undo=undo), [ev.Cleared(removed)]
        case Undo():
            return _undo(meeting, signal)
        case NewTopic():
            return _new_topic(meeting, signal, cue.title)
        case StartMeeting():
            if meeting.active:
                return meeting, [ev.MeetingRunning(meeting.title)]
            return _start(meeting, signal, cue.title, automatic=False)
        case EndMeeting():
            return _end(meeting, signal)
        case CloseStack():
            return replace(meeting, closed=True), [ev.StackClosed()]
        case OpenStack():
            return replace(meeting, closed=False), [ev.StackOpened()]
        case SetLanes():
            settings = replace(meeting.settings, lanes=cue.enabled)
            meeting = replace(meeting, settings=settings)
            return _rearranged(meeting, signal.at), [ev.LanesChanged(cue.enabled)]
        case SetHeadsUp():
            settings = replace(meeting.settings, heads_up=cue.enabled)
            return replace(meeting, settings=settings), [ev.HeadsUpChanged(cue.enabled)]
        case Ouch():
            return _ouch(meeting, signal, cue)
        case Oops():
            return _oops(meeting, signal, cue)
        case Resolve():
            return _resolve(meeting, cue)
        case Priority():
            return _priority(meeting, signal, cue)
        case Facilitate():
            if cue.on:
                named = meeting.facilitators | {cue.who.id}
            else:
                named = meeting.facilitators - {cue.who.id}
            meeting = replace(meeting, facilitators=named)
            return meeting, [ev.FacilitatorNamed(cue.who, cue.on)]
        case Status():
            return meeting, [status(meeting, signal.at)]
        case WhereAmI():
            return meeting, [_where(meeting, signal.sender)]
        case Help():
            return meeting, [ev.HelpShown(facilitator, meeting.settings.lanes)]
        case Minutes():
            return meeting, [ev.MinutesAsked(meeting.number)]
        case Tick():  # pragma: no cover - handled before dispatch
            return _tick(meeting, signal)


def _rearranged(meeting: Meeting, now: float) -> Meeting:
    """Arrange the stack after a change everyone sees; private priority catches up here."""
    meeting = replace(meeting, priority_in_order=meeting.priority)
    return replace(meeting, stack=arrange(meeting, now))


def _acting_for_other(signal: Signal, who: Person | None) -> bool:
    return who is not None and who.id != signal.sender.id


def _heads_up(
    before: Meeting, after: Meeting, signal: Signal, events: list[ev.Event]
) -> list[ev.Event]:
    """A heads-up for the person who became next while someone speaks (not for a person
    who asked themselves, nor after a call, whose reply already names who is next)."""
    if not after.settings.heads_up or after.current_turn is None or not after.stack:
        return []
    first = after.stack[0].person
    if before.stack and before.stack[0].person.id == first.id:
        return []
    if first.id == signal.sender.id or any(isinstance(e, ev.Called) for e in events):
        return []
    return [ev.UpNext(first)]


# ---------------------------------------------------------------- the stack


def _join(meeting: Meeting, signal: Signal, cue: Join) -> Result:
    person = cue.who or signal.sender
    by = signal.sender if _acting_for_other(signal, cue.who) else None
    lanes_off = cue.lane is not Lane.REGULAR and not meeting.settings.lanes
    lane = Lane.REGULAR if lanes_off else cue.lane
    existing = next((e for e in meeting.stack if e.person.id == person.id), None)
    if existing is not None and lane_of(meeting, existing) == lane:
        return meeting, [ev.AlreadyOnStack(person, meeting.position(person.id) or 0, lane)]
    if meeting.closed and not closed_stack_takes(lane, meeting.settings.lanes):
        return meeting, [ev.StackIsClosed(person)]
    previous = meeting.stack
    if existing is not None:
        changed = replace(existing, lane=lane, waived=False, after=None)
        stack = tuple(changed if e is existing else e for e in meeting.stack)
        meeting = replace(meeting, stack=stack)
    else:
        entry = Entry(person, lane, meeting.next_seq, signal.source, signal.at)
        meeting = replace(meeting, stack=(*meeting.stack, entry), next_seq=meeting.next_seq + 1)
    meeting = _rearranged(meeting, signal.at)
    if by is not None:
        meeting = replace(meeting, undo=Undoable(StackAction.PUT_ON, by, person, previous))
    joined = ev.Joined(
        person=person,
        lane=lane,
        position=meeting.position(person.id) or 0,
        size=len(meeting.stack),
        source=signal.source,
        by=by,
        lane_changed=existing is not None,
        lanes_off=lanes_off,
    )
    return meeting, [joined]


def _join_room(meeting: Meeting, signal: Signal, cue: JoinRoom) -> Result:
    """Rule 10: an unnamed person in the room joins as "in the room N", as if they asked
    themselves (so it is not a hand change a facilitator could undo)."""
    number = meeting.last_in_room + 1
    person = Person.in_room(number)
    joined, events = _join(meeting, replace(signal, sender=person), Join(lane=cue.lane))
    if joined is meeting:
        return meeting, events  # not added (a closed stack): the number is not used up
    return replace(joined, last_in_room=number), events


def _rename(meeting: Meeting, signal: Signal, cue: Rename) -> Result:
    """Rule 10: "in the room N" gets a name; the entry keeps its lane and joining order."""
    old = Person.in_room(cue.number).id
    turn = meeting.current_turn
    speaking = turn is not None and turn.person.id == old
    waiting = meeting.position(old) is not None
    if not speaking and not waiting:
        return meeting, [ev.NoRoomEntry(cue.number)]
    place = meeting.position(cue.who.id)
    if waiting and place is not None:
        lane = lane_of(meeting, meeting.stack[place - 1])
        return meeting, [ev.AlreadyOnStack(cue.who, place, lane)]
    stack = tuple(
        replace(
            e,
            person=cue.who if e.person.id == old else e.person,
            after=cue.who.id if e.after == old else e.after,
        )
        for e in meeting.stack
    )
    if speaking and turn is not None:
        meeting = replace(meeting, current_turn=replace(turn, person=cue.who))
    meeting = _rearranged(replace(meeting, stack=stack), signal.at)
    position = meeting.position(cue.who.id) if waiting else None
    return meeting, [ev.Renamed(cue.number, cue.who, position, len(meeting.stack))]


def _leave(meeting: Meeting, signal: Signal, cue: Leave) -> Result:
    person = cue.who or signal.sender
    if meeting.position(person.id) is None:
        return meeting, [ev.NotOnStack(person, asked_by_self=person.id == signal.sender.id)]
    previous = meeting.stack
    stack = tuple(e for e in meeting.stack if e.person.id != person.id)
    meeting = _rearranged(replace(meeting, stack=stack), signal.at)
    by = signal.sender if _acting_for_other(signal, cue.who) else None
    if by is not None:
        meeting = replace(meeting, undo=Undoable(StackAction.TOOK_OFF, by, person, previous))
    return meeting, [ev.Left(person, signal.source, by)]


def _later(meeting: Meeting, signal: Signal, cue: Later) -> Result:
    """Rule 7: step back one place in your lane, or to its end."""
    person = signal.sender
    place = meeting.position(person.id)
    if place is None:
        return meeting, [ev.NotOnStack(person, asked_by_self=True)]
    mine = meeting.stack[place - 1]
    lane = lane_of(meeting, mine)
    behind = [e for e in meeting.stack[place:] if lane_of(meeting, e) == lane]
    if not behind:
        return meeting, [ev.NobodyBehind(person, place)]
    if cue.to_end:
        changed = replace(mine, seq=meeting.next_seq, waived=True, pinned=False, after=None)
        meeting = replace(meeting, next_seq=meeting.next_seq + 1)
    else:
        changed = replace(mine, pinned=False, after=behind[0].person.id)
    stack = tuple(changed if e is mine else e for e in meeting.stack)
    meeting = _rearranged(replace(meeting, stack=stack), signal.at)
    position = meeting.position(person.id) or 0
    return meeting, [ev.SteppedBack(person, position, len(meeting.stack), cue.to_end)]


def _end_turn(meeting: Meeting, at: float) -> Result:
    """End the current turn: its time goes into the tallies (the minutes keep the turn)."""
    turn = meeting.current_turn
    if turn is None:
        return meeting, []
    seconds = turn.seconds(at)
    meeting = replace(
        meeting,
        current_turn=None,
        topic_tallies=_add(meeting.topic_tallies, turn.person, seconds),
        meeting_tallies=_add(meeting.meeting_tallies, turn.person, seconds),
    )
    # A turn ending changes who has spoken, and so the order.
    return _rearranged(meeting, at), [ev.TurnEnded(turn.person, seconds, yielded=False)]


def _add(tallies: tuple[Tally, ...], person: Person, seconds: float) -> tuple[Tally, ...]:
    for index, tally in enumerate(tallies):
        if tally.person.id == person.id:
            added = Tally(person, tally.turns + 1, tally.seconds + seconds)
            return (*tallies[:index], added, *tallies[index + 1 :])
    return (*tallies, Tally(person, 1, seconds))


def _next(meeting: Meeting, signal: Signal) -> Result:
    meeting, events = _end_turn(meeting, signal.at)
    if not meeting.stack:
        return meeting, [*events, ev.StackEmpty()]
    first, rest = meeting.stack[0], meeting.stack[1:]
    meeting = replace(meeting, stack=rest, current_turn=Turn(first.person, signal.at))
    meeting = _rearranged(meeting, signal.at)
    up_next = meeting.stack[0].person if meeting.stack else None
    called = ev.Called(
        first.person,
        lane_of(meeting, first),
        up_next,
        len(meeting.stack),
        heads_up=meeting.settings.heads_up,
    )
    return meeting, [*events, called]


def _done(meeting: Meeting, signal: Signal, facilitator: bool) -> Result:
    turn = meeting.current_turn
    if turn is None or (turn.person.id != signal.sender.id and not facilitator):
        return meeting, [ev.NotSpeaker()]
    meeting, events = _end_turn(meeting, signal.at)
    yielded = turn.person.id == signal.sender.id
    return meeting, [
        replace(e, yielded=yielded) if isinstance(e, ev.TurnEnded) else e for e in events
    ]


def _move(meeting: Meeting, signal: Signal, cue: Move) -> Result:
    current = meeting.position(cue.who.id)
    if current is None:
        return meeting, [ev.NotOnStack(cue.who, asked_by_self=False)]
    if not 1 <= cue.position <= len(meeting.stack):
        return meeting, [ev.NoSuchPlace(len(meeting.stack))]
    previous = meeting.stack
    entry = replace(meeting.stack[current - 1], pinned=True, after=None)
    others = [e for e in meeting.stack if e.person.id != cue.who.id]
    others.insert(cue.position - 1, entry)
    meeting = _rearranged(replace(meeting, stack=tuple(others)), signal.at)
    meeting = replace(meeting, undo=Undoable(StackAction.MOVED, signal.sender, cue.who, previous))
    position = meeting.position(cue.who.id) or 0
    return meeting, [ev.Moved(cue.who, position, len(meeting.stack))]


def _undo(meeting: Meeting, signal: Signal) -> Result:
    """Rule 9: put the stack back as it was before the last hand change."""
    undo = meeting.undo
    if undo is None:
        return meeting, [ev.NothingToUndo()]
    meeting = _rearranged(replace(meeting, stack=undo.stack, undo=None), signal.at)
    return meeting, [ev.Undone(undo.action, undo.person, undo.by)]


# ---------------------------------------------------------------- meetings and topics


def _start(meeting: Meeting, signal: Signal, title: str, automatic: bool) -> Result:
    number = meeting.number + 1
    # Harm not yet discussed is not forgotten with the meeting it happened in.
    carried = meeting.pins
    priority = meeting.priority | meeting.kept_priority
    meeting = replace(
        meeting,
        active=True,
        number=number,
        title=title,
        started_at=signal.at,
        topic=Topic(1, "", signal.at),
        stack=(),
        current_turn=None,
        topic_tallies=(),
        meeting_tallies=(),
        pins=carried,
        last_pin=max((pin.id for pin in carried), default=0),
        closed=False,
        next_seq=0,
        priority=priority,
        priority_in_order=priority,
        undo=None,
        last_in_room=0,
    )
    return meeting, [ev.MeetingStarted(title, number, automatic, signal.room_name)]


def _open_pins(meeting: Meeting, moment: ev.Moment) -> list[ev.Event]:
    return [ev.PinsToDiscuss(meeting.pins, moment)] if meeting.pins else []


def _new_topic(meeting: Meeting, signal: Signal, title: str) -> Result:
    meeting, events = _end_turn(meeting, signal.at)
    events += _open_pins(meeting, ev.Moment.TOPIC)
    topic = Topic(meeting.topic.index + 1, title, signal.at)
    meeting = _rearranged(replace(meeting, topic=topic, topic_tallies=()), signal.at)
    return meeting, [*events, ev.TopicStarted(topic.index, title, len(meeting.stack))]


def _end(meeting: Meeting, signal: Signal) -> Result:
    meeting, events = _end_turn(meeting, signal.at)
    events += _open_pins(meeting, ev.Moment.MEETING)
    ended = ev.MeetingEnded(
        meeting.title, meeting.number, totals(meeting, signal.at, Scope.MEETING), len(meeting.stack)
    )
    # Priority is forgotten with the meeting unless its owner asked to keep it.
    meeting = replace(
        meeting,
        active=False,
        stack=(),
        closed=False,
        priority=frozenset(),
        priority_in_order=frozenset(),
        undo=None,
    )
    return meeting, [*events, ended]


# ---------------------------------------------------------------- oops and ouch


def _ouch(meeting: Meeting, signal: Signal, cue: Ouch) -> Result:
    speaker = meeting.current_turn.person if meeting.current_turn is not None else None
    number = meeting.last_pin + 1
    pin = Pin(
        id=number,
        by=None if cue.anonymous else signal.sender,
        at_person=aimed_at(cue.at, speaker, signal.sender),
        pinned_at=signal.at,
    )
    meeting = replace(meeting, pins=(*meeting.pins, pin), last_pin=number)
    return meeting, [ev.OuchPinned(pin)]


def _oops(meeting: Meeting, signal: Signal, cue: Oops) -> Result:
    choice = pin_for_oops(meeting.pins, signal.sender, cue.pin)
    if choice.pin is None:
        if cue.pin is not None:
            return meeting, [ev.NoSuchPin(cue.pin)]
        if choice.elsewhere is not None:
            return meeting, [ev.OuchAimedElsewhere(choice.elsewhere)]
        return meeting, [ev.NoOpenPin()]
    pin = replace(choice.pin, oops_at=signal.at, oops_by=signal.sender)
    pins = tuple(pin if p.id == pin.id else p for p in meeting.pins)
    return replace(meeting, pins=pins), [ev.OopsAcknowledged(pin, signal.sender)]


def _resolve(meeting: Meeting, cue: Resolve) -> Result:
    pin = pin_to_resolve(meeting.pins, cue.pin)
    if pin is None:
        if cue.pin is None:
            return meeting, [ev.NoOpenPin()]
        return meeting, [ev.NoSuchPin(cue.pin)]
    pins = tuple(p for p in meeting.pins if p.id != pin.id)
    return replace(meeting, pins=pins), [ev.PinResolved(pin)]


# ---------------------------------------------------------------- private priority


def _priority(meeting: Meeting, signal: Signal, cue: Priority) -> Result:
    """Noted now; the order follows at the next public change (rule 8)."""
    person = cue.who or signal.sender
    by_other = _acting_for_other(signal, cue.who)
    # Only the person themselves can choose to have priority remembered past this meeting.
    keep = cue.keep and cue.on and not by_other
    if cue.on:
        priority = meeting.priority | {person.id}
        kept = meeting.kept_priority | {person.id} if keep else meeting.kept_priority
    else:
        priority = meeting.priority - {person.id}
        kept = meeting.kept_priority - {person.id}
    meeting = replace(meeting, priority=priority, kept_priority=kept)
    return meeting, [ev.PriorityNoted(person, cue.on, keep, by_other, meeting.active)]


# ---------------------------------------------------------------- time


def _tick(meeting: Meeting, signal: Signal) -> Result:
    turn = meeting.current_turn
    limit = meeting.settings.wrap_up_seconds
    if turn is None or turn.reminded or limit <= 0 or turn.seconds(signal.at) < limit:
        return meeting, []
    meeting = replace(meeting, current_turn=replace(turn, reminded=True))
    return meeting, [ev.WrapUpReminded(turn.person, turn.seconds(signal.at))]


# ---------------------------------------------------------------- views


def _where(meeting: Meeting, person: Person) -> ev.WhereShown:
    """A place with the public part of its reason: lanes and a facilitator's placing.

    Everyone else ahead is there "by the stack's rules"; which rule (not yet spoken, or
    private priority) is never said, so a private lift cannot be read from it.
    """
    turn = meeting.current_turn
    speaking = turn is not None and turn.person.id == person.id
    position = meeting.position(person.id)
    if position is None:
        return ev.WhereShown(person, None, len(meeting.stack), speaking)
    mine = meeting.stack[position - 1]
    ahead = meeting.stack[: position - 1]
    by_lane = sum(1 for e in ahead if lane_of(meeting, e) < lane_of(meeting, mine))
    placed = sum(1 for e in ahead if e.pinned and lane_of(meeting, e) >= lane_of(meeting, mine))
    return ev.WhereShown(person, position, len(meeting.stack), speaking, by_lane, placed)


def totals(meeting: Meeting, now: float, scope: Scope) -> tuple[ev.SpeakingTotal, ...]:
    """Turns and seconds per person in the topic or the whole meeting, the current turn
    included."""
    return tuple(
        ev.SpeakingTotal(tally.person, tally.turns, tally.seconds)
        for tally in spoken(meeting, scope, now).values()
    )


def status(meeting: Meeting, now: float) -> ev.StatusShown:
    turn = meeting.current_turn
    lines = tuple(
        ev.StackLine(index + 1, entry.person, lane_of(meeting, entry))
        for index, entry in enumerate(meeting.stack)
    )
    return ev.StatusShown(
        active=meeting.active,
        title=meeting.title,
        topic=meeting.topic.title if meeting.active else "",
        speaker=turn.person if turn is not None else None,
        speaker_seconds=turn.seconds(now) if turn is not None else 0.0,
        stack=lines,
        closed=meeting.closed,
        pins=meeting.pins,
        totals=totals(meeting, now, Scope.TOPIC),
    )


__all__ = ["is_facilitator", "status", "step", "totals"]
