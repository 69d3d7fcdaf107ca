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
  6. A closed stack takes only points of process until it is opened again.
  Places are explained without reasons: nobody is ever told that someone has priority.

Oops and ouch
  1. "ouch" pins a moment of harm. It is aimed at the person named, else at the person
     whose message it replies to, else at whoever is speaking. Sent privately to the bot,
     it shows as "someone" and the sender is recorded nowhere.
  2. "oops" acknowledges the open ouch aimed at you, else the latest open one.
  3. A pin stays open until a facilitator says "resolved". Open pins are brought back
     when the topic ends and when the meeting ends: the harm is discussed after the
     current discussion.
  4. The minutes note every ouch, oops and resolution, clearly marked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from scorebot.core.model import Entry, Lane, Meeting, Person, Pin, Scope


def lifts(meeting: Meeting, now: float) -> dict[str, int]:
    """How many of the two lifts (rule 2) each person on the stack has: 0, 1 or 2."""
    settings = meeting.settings
    waiting = {entry.person.id for entry in meeting.stack}
    spoken: Counter[str] = Counter()
    topic_turns: Counter[str] = Counter()
    seconds: dict[str, float] = defaultdict(float)
    # One pass over the turns: this runs on every change to the stack.
    for turn in meeting.turns:
        who = turn.person.id
        if who not in waiting:
            continue
        in_topic = turn.topic == meeting.topic
        if in_topic or settings.spoken_scope is Scope.MEETING:
            spoken[who] += 1
        if in_topic:
            topic_turns[who] += 1
            seconds[who] += turn.seconds(now)
    result: dict[str, int] = {}
    for who in waiting:
        significant = (0 < settings.significant_turns <= topic_turns[who]) or (
            0 < settings.significant_seconds <= seconds[who]
        )
        priority = who in meeting.priority and not significant
        result[who] = int(spoken[who] == 0) + int(priority)
    return result


def lane_of(meeting: Meeting, entry: Entry) -> Lane:
    return entry.lane if meeting.settings.lanes else Lane.REGULAR


def arrange(meeting: Meeting, now: float) -> tuple[Entry, ...]:
    """The stack in speaking order: rules 1-4 applied to `meeting.stack`."""
    lift = lifts(meeting, now)
    free = sorted(
        (entry for entry in meeting.stack if not entry.pinned),
        key=lambda e: (lane_of(meeting, e), -lift[e.person.id], e.seq),
    )
    # Placed entries keep their index; everyone else flows around them.
    for index, entry in enumerate(meeting.stack):
        if entry.pinned:
            free.insert(min(index, len(free)), entry)
    return tuple(free)


def may_join_closed(lane: Lane) -> bool:
    return lane is Lane.PROCESS


def pin_for_oops(pins: Iterable[Pin], sender: Person) -> Pin | None:
    """Rule 2 of oops/ouch: the latest open, unacknowledged ouch aimed at the sender,
    else the latest open, unacknowledged one."""
    waiting = [pin for pin in pins if pin.open and pin.oops_at is None]
    aimed = [pin for pin in waiting if pin.at_person is not None and pin.at_person.id == sender.id]
    if aimed:
        return aimed[-1]
    return waiting[-1] if waiting else None


def pin_to_resolve(pins: Iterable[Pin], pin_id: int | None) -> Pin | None:
    """The pin a facilitator named, else the oldest open one."""
    open_pins = [pin for pin in pins if pin.open]
    if pin_id is None:
        return open_pins[0] if open_pins else None
    return next((pin for pin in open_pins if pin.id == pin_id), None)
