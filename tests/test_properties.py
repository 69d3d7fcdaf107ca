"""Properties of the pure core over random meetings, and a state machine against a naive model."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scorebot.core import events as ev
from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
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
    Priority,
    Rename,
    Resolve,
    Scope,
    SetLanes,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
    Tick,
    Undo,
    WhereAmI,
)
from scorebot.core.rules import lane_of, lifts
from scorebot.core.step import step

PEOPLE = [Person(f"@p{i}:example.org", f"P{i}") for i in range(5)] + [
    Person.guest("Maria"),
    Person.guest("Lee"),
]
people = st.sampled_from(PEOPLE)
maybe_person = st.none() | people
lanes = st.sampled_from(list(Lane))

cues: st.SearchStrategy[Cue] = st.one_of(
    st.builds(Join, who=maybe_person, lane=lanes),
    st.builds(JoinRoom, lane=lanes),
    st.builds(Rename, number=st.integers(0, 4), who=people),
    st.builds(Leave, who=maybe_person),
    st.just(Next()),
    st.just(Done()),
    st.builds(Move, who=people, position=st.integers(-2, 9)),
    st.just(Clear()),
    st.builds(NewTopic, title=st.text(max_size=20)),
    st.builds(StartMeeting, title=st.text(max_size=20)),
    st.just(EndMeeting()),
    st.just(CloseStack()),
    st.just(OpenStack()),
    st.builds(SetLanes, enabled=st.booleans()),
    st.builds(Ouch, at=maybe_person, anonymous=st.booleans()),
    st.just(Oops()),
    st.builds(Resolve, pin=st.none() | st.integers(-1, 6)),
    st.builds(Priority, on=st.booleans(), who=maybe_person, keep=st.booleans()),
    st.builds(Facilitate, who=people, on=st.booleans()),
    st.sampled_from([Status(), WhereAmI(), Help(), Minutes(), Tick()]),
)
meeting_settings = st.builds(
    Settings,
    lanes=st.booleans(),
    spoken_scope=st.sampled_from(list(Scope)),
    significant_turns=st.integers(0, 3),
    significant_seconds=st.sampled_from([0.0, 30.0, 180.0]),
    wrap_up_seconds=st.sampled_from([0.0, 20.0]),
)


@st.composite
def signal_lists(draw: st.DrawFn) -> list[Signal]:
    count = draw(st.integers(0, 40))
    now = 1_000.0
    out = []
    for index in range(count):
        now += draw(st.floats(0, 120))
        out.append(
            Signal(
                key=f"$k{index}",
                sender=draw(people),
                cue=draw(cues),
                source=draw(st.sampled_from(list(Source))),
                at=now,
                facilitator=draw(st.booleans()),
            )
        )
    return out


def fold(meeting: Meeting, signals: list[Signal]) -> tuple[Meeting, list[ev.Event]]:
    events: list[ev.Event] = []
    for signal in signals:
        meeting, more = step(meeting, signal)
        events += more
    return meeting, events


def assert_invariants(meeting: Meeting, now: float) -> None:
    ids = [entry.person.id for entry in meeting.stack]
    assert len(ids) == len(set(ids)), "someone is on the stack twice"
    assert len({pin.id for pin in meeting.pins}) == len(meeting.pins)
    assert all(pin.id <= meeting.last_pin for pin in meeting.pins)
    # The ordering rule holds among everyone not placed by hand nor stepped back one place.
    lift = lifts(meeting, now)
    free = [e for e in meeting.stack if not e.pinned and e.after is None]
    keys = [(lane_of(meeting, e), -lift[e.person.id], e.seq) for e in free]
    assert keys == sorted(keys), "progressive order broken"
    if not meeting.active:
        # Priority asked for between meetings is held for the next one; the stack is not.
        assert meeting.stack == ()


@settings(max_examples=300, deadline=None)
@given(settings_=meeting_settings, signals=signal_lists())
def test_every_signal_on_any_meeting_never_raises_and_keeps_the_invariants(
    settings_: Settings, signals: list[Signal]
) -> None:
    meeting = Meeting("!room:example.org", settings=settings_)
    for signal in signals:
        meeting, events = step(meeting, signal)
        assert all(isinstance(event, ev.Event) for event in events)  # type: ignore[arg-type, misc]
        # Arrangement happens at each change; only state changes may reorder.
        if events:
            assert_invariants(meeting, signal.at)


@settings(max_examples=150, deadline=None)
@given(signals=signal_lists())
def test_replaying_the_same_signals_gives_the_same_meeting(signals: list[Signal]) -> None:
    first = fold(Meeting("!r:x"), signals)
    second = fold(Meeting("!r:x"), signals)
    assert first == second


@settings(max_examples=150, deadline=None)
@given(signals=signal_lists())
def test_an_anonymous_ouch_never_stores_its_sender(signals: list[Signal]) -> None:
    meeting, _ = fold(Meeting("!r:x"), signals)
    anonymous = [s for s in signals if isinstance(s.cue, Ouch) and s.cue.anonymous]
    for pin in meeting.pins:
        if pin.by is None:
            continue
        assert not any(s.at == pin.pinned_at and s.sender == pin.by for s in anonymous)


# ---------------------------------------------------------------- a naive model


@dataclass
class Waiting:
    who: str
    lane: int
    seq: int
    pinned: bool = False
    waived: bool = False
    after: str | None = None


REGULAR = int(Lane.REGULAR)


@dataclass
class NaiveMeeting:
    """The rules restated as plainly as possible: lists, loops, no cleverness."""

    waiting: list[Waiting] = field(default_factory=list)
    """in the order of the stack as last arranged"""
    spoke_this_topic: dict[str, int] = field(default_factory=dict)
    priority: set[str] = field(default_factory=set)
    priority_shown: set[str] = field(default_factory=set)
    speaker: str | None = None
    seq: int = 0
    lanes: bool = True
    closed: bool = False
    undo: list[Waiting] | None = None
    in_room: int = 0
    """the last "in the room" number given"""

    def lane(self, entry: Waiting) -> int:
        return entry.lane if self.lanes else REGULAR

    def lifted(self, entry: Waiting) -> int:
        if entry.waived:
            return 0
        turns = self.spoke_this_topic.get(entry.who, 0)
        # significant_turns=2, significant_seconds=0 in this machine's settings
        mine = entry.who in self.priority_shown and turns < 2
        return int(turns == 0) + int(mine)

    def before(self, a: Waiting, b: Waiting) -> bool:
        if self.lane(a) != self.lane(b):
            return self.lane(a) < self.lane(b)
        if self.lifted(a) != self.lifted(b):
            return self.lifted(a) > self.lifted(b)
        return a.seq < b.seq

    def rearrange(self) -> None:
        """A public change: private priority shows now, and the rules order the stack."""
        self.priority_shown = set(self.priority)
        ids = [entry.who for entry in self.waiting]
        free: list[Waiting] = []
        for entry in self.waiting:
            if entry.pinned:
                continue
            if entry.after not in ids:
                entry.after = None
            place = 0
            while place < len(free) and not self.before(entry, free[place]):
                place += 1
            free.insert(place, entry)
        for entry in [e for e in free if e.after is not None]:
            me = free.index(entry)
            targets = [i for i, e in enumerate(free) if e.who == entry.after]
            if not targets:
                continue  # the person let ahead was placed by hand since
            target = targets[0]
            if target > me and self.lane(free[target]) == self.lane(entry):
                free.remove(entry)
                free.insert(target, entry)
        for index, entry in enumerate(self.waiting):
            if entry.pinned:
                free.insert(min(index, len(free)), entry)
        self.waiting = free

    def find(self, who: str) -> Waiting | None:
        return next((e for e in self.waiting if e.who == who), None)

    def snapshot(self) -> list[Waiting]:
        return [replace(entry) for entry in self.waiting]


FAC = Person("@fac:example.org", "Facilitator")
MIC = Person("@mic:example.org", "Room microphone")


class MeetingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        start = Settings(significant_turns=2, significant_seconds=0)
        self.meeting = Meeting("!r:x", settings=start)
        self.model = NaiveMeeting()
        self.now = 0.0
        self.count = 0
        self.send(FAC, StartMeeting(), facilitator=True)

    def send(self, who: Person, cue: Cue, facilitator: bool = False) -> list[ev.Event]:
        self.now += 10
        self.count += 1
        signal = Signal(f"$s{self.count}", who, cue, Source.CHAT, self.now, facilitator)
        self.meeting, events = step(self.meeting, signal)
        return events

    def changed(self, before: list[Waiting]) -> None:
        """Undo takes back only the latest hand change: any other change forgets it."""
        if self.model.waiting != before:
            self.model.undo = None

    def _join(self, who: Person, lane: Lane) -> bool:
        model = self.model
        wanted = int(lane) if model.lanes else REGULAR
        entry = model.find(who.id)
        if entry is not None and model.lane(entry) == wanted:
            return False
        if model.closed and not (model.lanes and lane is Lane.PROCESS):
            return False
        if entry is None:
            model.waiting.append(Waiting(who.id, wanted, model.seq))
            model.seq += 1
        else:
            entry.lane, entry.waived, entry.after = wanted, False, None
        model.rearrange()
        return True

    @rule(who=people, lane=lanes)
    def join(self, who: Person, lane: Lane) -> None:
        before = self.model.snapshot()
        self.send(who, Join(lane=lane))
        self._join(who, lane)
        self.changed(before)

    @rule(who=people, lane=lanes)
    def put_on(self, who: Person, lane: Lane) -> None:
        before = self.model.snapshot()
        self.send(FAC, Join(who=who, lane=lane), facilitator=True)
        if self._join(who, lane):
            self.model.undo = before

    @rule(lane=lanes)
    def in_room_by_voice(self, lane: Lane) -> None:
        before = self.model.snapshot()
        self.send(MIC, JoinRoom(lane), facilitator=True)
        person = Person.in_room(self.model.in_room + 1)
        if self._join(person, lane):
            self.model.in_room += 1
        self.changed(before)

    @rule(number=st.integers(1, 4), who=people)
    def rename(self, number: int, who: Person) -> None:
        before = self.model.snapshot()
        self.send(FAC, Rename(number, who), facilitator=True)
        model, old = self.model, Person.in_room(number).id
        entry = model.find(old)
        if entry is not None and model.find(who.id) is not None:
            return
        if entry is None and model.speaker != old:
            return
        if entry is not None:
            entry.who = who.id
        for other in model.waiting:
            other.after = who.id if other.after == old else other.after
        if model.speaker == old:
            model.speaker = who.id
            # the turn now counts for its new name
            model.spoke_this_topic[old] -= 1
            model.spoke_this_topic[who.id] = model.spoke_this_topic.get(who.id, 0) + 1
        model.rearrange()
        self.changed(before)

    @rule(who=people)
    def leave(self, who: Person) -> None:
        before = self.model.snapshot()
        self.send(who, Leave())
        if self.model.find(who.id) is not None:
            self.model.waiting = [e for e in self.model.waiting if e.who != who.id]
            self.model.rearrange()
        self.changed(before)

    @rule(who=people, place=st.integers(0, 6))
    def move(self, who: Person, place: int) -> None:
        before = self.model.snapshot()
        self.send(FAC, Move(who, place), facilitator=True)
        entry = self.model.find(who.id)
        if entry is None or not 1 <= place <= len(self.model.waiting):
            return
        self.model.waiting.remove(entry)
        entry.pinned, entry.after = True, None
        self.model.waiting.insert(place - 1, entry)
        self.model.rearrange()
        self.model.undo = before

    @rule(who=people, to_end=st.booleans())
    def later(self, who: Person, to_end: bool) -> None:
        before = self.model.snapshot()
        self.send(who, Later(to_end))
        model = self.model
        entry = model.find(who.id)
        if entry is not None:
            index = model.waiting.index(entry)
            behind = [e for e in model.waiting[index + 1 :] if model.lane(e) == model.lane(entry)]
            if behind:
                entry.pinned = False
                if to_end:
                    entry.seq, entry.waived, entry.after = model.seq, True, None
                    model.seq += 1
                else:
                    entry.after = behind[0].who
                model.rearrange()
        self.changed(before)

    @rule()
    def undo(self) -> None:
        self.send(FAC, Undo(), facilitator=True)
        if self.model.undo is not None:
            self.model.waiting, self.model.undo = self.model.undo, None
            self.model.rearrange()

    @rule()
    def next_speaker(self) -> None:
        before = self.model.snapshot()
        self.send(FAC, Next(), facilitator=True)
        model = self.model
        if model.speaker is not None:
            model.speaker = None
            model.rearrange()
        if model.waiting:
            first = model.waiting.pop(0)
            model.spoke_this_topic[first.who] = model.spoke_this_topic.get(first.who, 0) + 1
            model.speaker = first.who
            model.rearrange()
        self.changed(before)

    @precondition(lambda self: self.model.speaker is not None)
    @rule()
    def speaker_done(self) -> None:
        before = self.model.snapshot()
        self.send(Person(self.model.speaker, "the speaker"), Done())
        self.model.speaker = None
        self.model.rearrange()
        self.changed(before)

    @rule(who=people, on=st.booleans())
    def priority(self, who: Person, on: bool) -> None:
        self.send(who, Priority(on), facilitator=False)
        if on:
            self.model.priority.add(who.id)
        else:
            self.model.priority.discard(who.id)

    @rule(closed=st.booleans())
    def close_or_open(self, closed: bool) -> None:
        self.send(FAC, CloseStack() if closed else OpenStack(), facilitator=True)
        self.model.closed = closed

    @rule(on=st.booleans())
    def switch_lanes(self, on: bool) -> None:
        before = self.model.snapshot()
        self.send(FAC, SetLanes(on), facilitator=True)
        self.model.lanes = on
        self.model.rearrange()
        self.changed(before)

    @rule()
    def new_topic(self) -> None:
        before = self.model.snapshot()
        self.send(FAC, NewTopic("t"), facilitator=True)
        self.model.spoke_this_topic = {}
        self.model.speaker = None
        self.model.rearrange()
        self.changed(before)

    @invariant()
    def same_order_as_the_naive_model(self) -> None:
        assert [e.person.id for e in self.meeting.stack] == [e.who for e in self.model.waiting]

    @invariant()
    def same_speaker_as_the_naive_model(self) -> None:
        turn = self.meeting.current_turn
        assert (turn.person.id if turn else None) == self.model.speaker

    @invariant()
    def undo_is_there_exactly_when_the_model_has_it(self) -> None:
        assert (self.meeting.undo is None) == (self.model.undo is None)


MeetingMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
test_meeting_matches_the_naive_model = MeetingMachine.TestCase
