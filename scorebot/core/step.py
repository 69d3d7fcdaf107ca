"""`step(meeting, signal) -> (meeting, events)`: the whole meeting as a pure function."""

from __future__ import annotations

from dataclasses import replace

from scorebot.core import events as ev
from scorebot.core.model import (
    FACILITATOR_CUES,
    Clear,
    CloseStack,
    Done,
    EndMeeting,
    Entry,
    Facilitate,
    Help,
    Join,
    Lane,
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
    Resolve,
    SetLanes,
    Signal,
    StartMeeting,
    Status,
    Tick,
    Topic,
    Turn,
    WhereAmI,
)
from scorebot.core.rules import (
    arrange,
    lane_of,
    may_join_closed,
    pin_for_oops,
    pin_to_resolve,
)

Result = tuple[Meeting, list[ev.Event]]

# Cues that make sense with no meeting running; a join or an ouch starts one.
# Resolving works between meetings too: open pins outlive the meeting they were raised in.
_WITHOUT_MEETING = (
    StartMeeting, Priority, Facilitate, SetLanes, Status, WhereAmI, Help, Minutes, Resolve,
)  # fmt: skip
_STARTS_MEETING = (Join, Ouch)


def is_facilitator(meeting: Meeting, signal: Signal) -> bool:
    return signal.facilitator or signal.sender.id in meeting.facilitators


def step(meeting: Meeting, signal: Signal) -> Result:
    """Apply one signal. Never raises for any cue on any meeting; mistakes become events."""
    cue = signal.cue
    facilitator = is_facilitator(meeting, signal)
    if isinstance(cue, FACILITATOR_CUES) and not facilitator:
        return meeting, [ev.Refused(ev.Reason.NOT_FACILITATOR, type(cue).__name__)]
    if isinstance(cue, Tick):
        return _tick(meeting, signal)
    events: list[ev.Event] = []
    if not meeting.active and not isinstance(cue, _WITHOUT_MEETING):
        if not isinstance(cue, _STARTS_MEETING):
            return meeting, [ev.Refused(ev.Reason.NO_MEETING)]
        meeting, events = _start(meeting, signal, "", automatic=True)
    meeting, more = _dispatch(meeting, signal, facilitator)
    return meeting, events + more


def _dispatch(meeting: Meeting, signal: Signal, facilitator: bool) -> Result:
    cue = signal.cue
    match cue:
        case Join():
            return _join(meeting, signal, cue, facilitator)
        case Leave():
            return _leave(meeting, signal, cue, facilitator)
        case Next():
            return _next(meeting, signal)
        case Done():
            return _done(meeting, signal, facilitator)
        case Move():
            return _move(meeting, signal, cue)
        case Clear():
            removed = tuple(entry.person for entry in meeting.stack)
            return replace(meeting, stack=()), [ev.Cleared(removed)]
        case NewTopic():
            return _new_topic(meeting, signal, cue.title)
        case StartMeeting():
            if meeting.active:
                return meeting, [ev.Refused(ev.Reason.MEETING_RUNNING, meeting.title)]
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
        case Ouch():
            return _ouch(meeting, signal, cue)
        case Oops():
            return _oops(meeting, signal)
        case Resolve():
            return _resolve(meeting, signal, cue)
        case Priority():
            return _priority(meeting, signal, cue, facilitator)
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
    return replace(meeting, stack=arrange(meeting, now))


def _acting_for_other(signal: Signal, who: Person | None) -> bool:
    return who is not None and who.id != signal.sender.id


# ---------------------------------------------------------------- the stack


def _join(meeting: Meeting, signal: Signal, cue: Join, facilitator: bool) -> Result:
    if _acting_for_other(signal, cue.who) and not facilitator:
        return meeting, [ev.Refused(ev.Reason.NOT_FACILITATOR, "Join")]
    person = cue.who or signal.sender
    by = signal.sender if _acting_for_other(signal, cue.who) else None
    lanes_off = cue.lane is not Lane.REGULAR and not meeting.settings.lanes
    lane = Lane.REGULAR if lanes_off else cue.lane
    existing = next((e for e in meeting.stack if e.person.id == person.id), None)
    if existing is not None and lane_of(meeting, existing) == lane:
        return meeting, [ev.AlreadyOnStack(person, meeting.position(person.id) or 0, lane)]
    if meeting.closed and not may_join_closed(lane):
        return meeting, [ev.Refused(ev.Reason.STACK_CLOSED, person.name)]
    if existing is not None:
        stack = tuple(replace(e, lane=lane) if e is existing else e for e in meeting.stack)
        meeting = replace(meeting, stack=stack)
    else:
        entry = Entry(person, lane, meeting.next_seq, signal.source, signal.at)
        meeting = replace(meeting, stack=(*meeting.stack, entry), next_seq=meeting.next_seq + 1)
    meeting = _rearranged(meeting, signal.at)
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


def _leave(meeting: Meeting, signal: Signal, cue: Leave, facilitator: bool) -> Result:
    if _acting_for_other(signal, cue.who) and not facilitator:
        return meeting, [ev.Refused(ev.Reason.NOT_FACILITATOR, "Leave")]
    person = cue.who or signal.sender
    if meeting.position(person.id) is None:
        return meeting, [ev.NotOnStack(person, asked_by_self=person.id == signal.sender.id)]
    stack = tuple(e for e in meeting.stack if e.person.id != person.id)
    meeting = _rearranged(replace(meeting, stack=stack), signal.at)
    by = signal.sender if _acting_for_other(signal, cue.who) else None
    return meeting, [ev.Left(person, signal.source, by)]


def _end_turn(meeting: Meeting, at: float, yielded: bool) -> Result:
    turn = meeting.current_turn
    if turn is None:
        return meeting, []
    ended = replace(turn, ended_at=max(at, turn.started_at))
    meeting = replace(meeting, turns=(*meeting.turns[:-1], ended))
    # A turn ending changes who has spoken, and so the order.
    meeting = _rearranged(meeting, at)
    return meeting, [ev.TurnEnded(turn.person, ended.seconds(at), yielded)]


def _next(meeting: Meeting, signal: Signal) -> Result:
    meeting, events = _end_turn(meeting, signal.at, yielded=False)
    if not meeting.stack:
        return meeting, [*events, ev.StackEmpty()]
    first, rest = meeting.stack[0], meeting.stack[1:]
    turn = Turn(first.person, meeting.topic, signal.at)
    meeting = replace(meeting, stack=rest, turns=(*meeting.turns, turn))
    meeting = _rearranged(meeting, signal.at)
    up_next = meeting.stack[0].person if meeting.stack else None
    called = ev.Called(first.person, lane_of(meeting, first), up_next, len(meeting.stack))
    return meeting, [*events, called]


def _done(meeting: Meeting, signal: Signal, facilitator: bool) -> Result:
    turn = meeting.current_turn
    if turn is None or (turn.person.id != signal.sender.id and not facilitator):
        return meeting, [ev.Refused(ev.Reason.NOT_SPEAKER)]
    return _end_turn(meeting, signal.at, yielded=turn.person.id == signal.sender.id)


def _move(meeting: Meeting, signal: Signal, cue: Move) -> Result:
    current = meeting.position(cue.who.id)
    if current is None:
        return meeting, [ev.NotOnStack(cue.who, asked_by_self=False)]
    if not 1 <= cue.position <= len(meeting.stack):
        return meeting, [ev.Refused(ev.Reason.NO_SUCH_POSITION, str(len(meeting.stack)))]
    entry = replace(meeting.stack[current - 1], pinned=True)
    others = [e for e in meeting.stack if e.person.id != cue.who.id]
    others.insert(cue.position - 1, entry)
    meeting = _rearranged(replace(meeting, stack=tuple(others)), signal.at)
    position = meeting.position(cue.who.id) or 0
    return meeting, [ev.Moved(cue.who, position, len(meeting.stack))]


# ---------------------------------------------------------------- meetings and topics


def _start(meeting: Meeting, signal: Signal, title: str, automatic: bool) -> Result:
    number = meeting.number + 1
    meeting = replace(
        meeting,
        active=True,
        number=number,
        title=title,
        started_at=signal.at,
        topics=(Topic(1, "", signal.at),),
        stack=(),
        turns=(),
        # Harm not yet discussed is not forgotten with the meeting it happened in.
        pins=tuple(pin for pin in meeting.pins if pin.open),
        closed=False,
        next_seq=0,
        priority=meeting.priority | meeting.kept_priority,
    )
    return meeting, [ev.MeetingStarted(title, number, automatic)]


def _open_pins(meeting: Meeting, moment: str) -> list[ev.Event]:
    pins = tuple(pin for pin in meeting.pins if pin.open)
    return [ev.PinsToDiscuss(pins, moment)] if pins else []


def _new_topic(meeting: Meeting, signal: Signal, title: str) -> Result:
    meeting, events = _end_turn(meeting, signal.at, yielded=False)
    events += _open_pins(meeting, "topic")
    topic = Topic(meeting.topic + 1, title, signal.at)
    meeting = _rearranged(replace(meeting, topics=(*meeting.topics, topic)), signal.at)
    return meeting, [*events, ev.TopicStarted(topic.index, title, len(meeting.stack))]


def _end(meeting: Meeting, signal: Signal) -> Result:
    meeting, events = _end_turn(meeting, signal.at, yielded=False)
    events += _open_pins(meeting, "meeting")
    ended = ev.MeetingEnded(
        meeting.title, meeting.number, totals(meeting, signal.at, None), len(meeting.stack)
    )
    # Priority is forgotten with the meeting unless its owner asked to keep it.
    meeting = replace(meeting, active=False, stack=(), closed=False, priority=frozenset())
    return meeting, [*events, ended]


# ---------------------------------------------------------------- oops and ouch


def _ouch(meeting: Meeting, signal: Signal, cue: Ouch) -> Result:
    turn = meeting.current_turn
    aimed = cue.at if cue.at is not None else (turn.person if turn is not None else None)
    pin = Pin(
        id=max((p.id for p in meeting.pins), default=0) + 1,
        by=None if cue.anonymous else signal.sender,
        at_person=aimed,
        topic=meeting.topic,
        pinned_at=signal.at,
    )
    return replace(meeting, pins=(*meeting.pins, pin)), [ev.OuchPinned(pin)]


def _replace_pin(meeting: Meeting, pin: Pin) -> Meeting:
    return replace(meeting, pins=tuple(pin if p.id == pin.id else p for p in meeting.pins))


def _oops(meeting: Meeting, signal: Signal) -> Result:
    pin = pin_for_oops(meeting.pins, signal.sender)
    if pin is None:
        return meeting, [ev.NoOpenPin()]
    pin = replace(pin, oops_at=signal.at, oops_by=signal.sender)
    return _replace_pin(meeting, pin), [ev.OopsAcknowledged(pin, signal.sender)]


def _resolve(meeting: Meeting, signal: Signal, cue: Resolve) -> Result:
    pin = pin_to_resolve(meeting.pins, cue.pin)
    if pin is None:
        if cue.pin is None:
            return meeting, [ev.NoOpenPin()]
        return meeting, [ev.Refused(ev.Reason.NO_SUCH_PIN, str(cue.pin))]
    pin = replace(pin, resolved_at=signal.at)
    return _replace_pin(meeting, pin), [ev.PinResolved(pin)]


# ---------------------------------------------------------------- private priority


def _priority(meeting: Meeting, signal: Signal, cue: Priority, facilitator: bool) -> Result:
    if _acting_for_other(signal, cue.who) and not facilitator:
        return meeting, [ev.Refused(ev.Reason.NOT_FACILITATOR, "Priority")]
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
    noted = ev.PriorityNoted(person, cue.on, keep, by_other)
    return _rearranged(meeting, signal.at), [noted]


# ---------------------------------------------------------------- time


def _tick(meeting: Meeting, signal: Signal) -> Result:
    turn = meeting.current_turn
    limit = meeting.settings.wrap_up_seconds
    if turn is None or turn.reminded or limit <= 0 or turn.seconds(signal.at) < limit:
        return meeting, []
    reminded = replace(turn, reminded=True)
    meeting = replace(meeting, turns=(*meeting.turns[:-1], reminded))
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


def totals(meeting: Meeting, now: float, topic: int | None) -> tuple[ev.SpeakingTotal, ...]:
    """Turns and seconds per person, in the topic or (None) the whole meeting."""
    people: dict[str, Person] = {}
    turns: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for turn in meeting.turns:
        if topic is not None and turn.topic != topic:
            continue
        who = turn.person.id
        people[who] = turn.person
        turns[who] = turns.get(who, 0) + 1
        seconds[who] = seconds.get(who, 0.0) + turn.seconds(now)
    return tuple(ev.SpeakingTotal(people[w], turns[w], seconds[w]) for w in people)


def status(meeting: Meeting, now: float) -> ev.StatusShown:
    turn = meeting.current_turn
    lines = tuple(
        ev.StackLine(index + 1, entry.person, lane_of(meeting, entry))
        for index, entry in enumerate(meeting.stack)
    )
    return ev.StatusShown(
        active=meeting.active,
        title=meeting.title,
        topic=meeting.topics[-1].title if meeting.topics else "",
        speaker=turn.person if turn is not None else None,
        speaker_seconds=turn.seconds(now) if turn is not None else 0.0,
        stack=lines,
        closed=meeting.closed,
        open_pins=sum(1 for pin in meeting.pins if pin.open),
        totals=totals(meeting, now, meeting.topic),
    )


__all__ = ["is_facilitator", "status", "step", "totals"]
