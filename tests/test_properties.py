"""Properties of the pure core over random meetings, and a state machine against a naive model."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    Priority,
    Resolve,
    Scope,
    SetLanes,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
    Tick,
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
    assert all(turn.ended_at is not None for turn in meeting.turns[:-1]), "two turns at once"
    assert len({pin.id for pin in meeting.pins}) == len(meeting.pins)
    # The ordering rule holds among everyone the facilitator has not placed by hand.
    lift = lifts(meeting, now)
    free = [e for e in meeting.stack if not e.pinned]
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
class NaiveMeeting:
    """The rules restated as plainly as possible: lists, loops, no cleverness."""

    waiting: list[tuple[str, int, int]] = field(default_factory=list)  # (id, lane, seq)
    spoke_this_topic: dict[str, int] = field(default_factory=dict)
    priority: set[str] = field(default_factory=set)
    speaker: str | None = None
    seq: int = 0

    def lifted(self, who: str) -> int:
        fresh = self.spoke_this_topic.get(who, 0) == 0
        # significant_turns=2, significant_seconds=0 in this machine's settings
        significant = self.spoke_this_topic.get(who, 0) >= 2
        return int(fresh) + int(who in self.priority and not significant)

    def order(self) -> list[str]:
        out: list[tuple[str, int, int]] = []
        for entry in self.waiting:
            place = 0
            while place < len(out) and not self.before(entry, out[place]):
                place += 1
            out.insert(place, entry)
        return [who for who, _, _ in out]

    def before(self, a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
        if a[1] != b[1]:
            return a[1] < b[1]
        if self.lifted(a[0]) != self.lifted(b[0]):
            return self.lifted(a[0]) > self.lifted(b[0])
        return a[2] < b[2]


FAC = Person("@fac:example.org", "Facilitator")


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

    @rule(who=people, lane=lanes)
    def join(self, who: Person, lane: Lane) -> None:
        self.send(who, Join(lane=lane))
        entry = next((e for e in self.model.waiting if e[0] == who.id), None)
        if entry is None:
            self.model.waiting.append((who.id, int(lane), self.model.seq))
            self.model.seq += 1
        else:
            index = self.model.waiting.index(entry)
            self.model.waiting[index] = (who.id, int(lane), entry[2])

    @rule(who=people)
    def leave(self, who: Person) -> None:
        self.send(who, Leave())
        self.model.waiting = [e for e in self.model.waiting if e[0] != who.id]

    @rule()
    def next_speaker(self) -> None:
        self.send(FAC, Next(), facilitator=True)
        order = self.model.order()
        self.model.speaker = None
        if order:
            first = order[0]
            self.model.waiting = [e for e in self.model.waiting if e[0] != first]
            self.model.spoke_this_topic[first] = self.model.spoke_this_topic.get(first, 0) + 1
            self.model.speaker = first

    @precondition(lambda self: self.model.speaker is not None)
    @rule()
    def speaker_done(self) -> None:
        speaker = next(p for p in PEOPLE if p.id == self.model.speaker)
        self.send(speaker, Done())
        self.model.speaker = None

    @rule(who=people, on=st.booleans())
    def priority(self, who: Person, on: bool) -> None:
        self.send(who, Priority(on), facilitator=False)
        if on:
            self.model.priority.add(who.id)
        else:
            self.model.priority.discard(who.id)

    @rule()
    def new_topic(self) -> None:
        self.send(FAC, NewTopic("t"), facilitator=True)
        self.model.spoke_this_topic = {}
        self.model.speaker = None

    @invariant()
    def same_order_as_the_naive_model(self) -> None:
        assert [e.person.id for e in self.meeting.stack] == self.model.order()

    @invariant()
    def same_speaker_as_the_naive_model(self) -> None:
        turn = self.meeting.current_turn
        assert (turn.person.id if turn else None) == self.model.speaker


MeetingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_meeting_matches_the_naive_model = MeetingMachine.TestCase
