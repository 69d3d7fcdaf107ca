"""The meeting rules, one behaviour per test, through the pure `step`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from scorebot.core import events as ev
from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Facilitate,
    Join,
    Lane,
    Leave,
    Meeting,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Priority,
    Resolve,
    SetLanes,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
    Tick,
    WhereAmI,
)
from scorebot.core.rules import CueKind
from scorebot.core.step import step

ANN = Person("@ann:example.org", "Ann")
BO = Person("@bo:example.org", "Bo")
CY = Person("@cy:example.org", "Cy")
DEE = Person("@dee:example.org", "Dee")
FAC = Person("@fac:example.org", "Facilitator")


T = TypeVar("T")


class Run:
    """A meeting driven one signal at a time, with a clock that moves forward."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.meeting = Meeting("!room:example.org", settings=settings or Settings())
        self.now = 1_000.0
        self.count = 0
        self.events: list[ev.Event] = []

    def do(
        self,
        who: Person,
        cue: Cue,
        *,
        facilitator: bool = False,
        source: Source = Source.CHAT,
        after: float = 1.0,
    ) -> list[ev.Event]:
        self.now += after
        self.count += 1
        signal = Signal(f"$e{self.count}", who, cue, source, self.now, facilitator)
        self.meeting, self.events = step(self.meeting, signal)
        return self.events

    def fac(self, cue: Cue, after: float = 1.0) -> list[ev.Event]:
        return self.do(FAC, cue, facilitator=True, after=after)

    def order(self) -> list[str]:
        return [entry.person.name for entry in self.meeting.stack]


def only(events: Iterable[ev.Event], kind: type[T]) -> T:
    found = [event for event in events if isinstance(event, kind)]
    assert len(found) == 1, f"expected one {kind.__name__} in {events}"
    return found[0]


def started() -> Run:
    run = Run()
    run.fac(StartMeeting("Weekly"))
    return run


def test_joining_confirms_the_person_and_their_position() -> None:
    run = started()
    run.do(ANN, Join())
    joined = only(run.do(BO, Join()), ev.Joined)
    assert (joined.person, joined.position, joined.size) == (BO, 2, 2)


def test_first_time_speaker_goes_ahead_of_repeat_speaker() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())  # Ann speaks
    run.do(ANN, Join())
    run.do(BO, Join())
    assert run.order() == ["Bo", "Ann"]


def test_ties_keep_joining_order() -> None:
    run = started()
    for person in (CY, ANN, BO):
        run.do(person, Join())
    assert run.order() == ["Cy", "Ann", "Bo"]


def test_private_priority_lifts_a_person_above_others_who_have_spoken() -> None:
    run = started()
    for person in (ANN, BO):
        run.do(person, Join())
        run.fac(Next())
    run.do(ANN, Join())
    run.do(BO, Join())
    run.do(BO, Priority(True), source=Source.DIRECT)
    run.do(CY, Join())  # the next public change
    assert run.order() == ["Bo", "Cy", "Ann"]


def test_private_priority_changes_the_order_only_at_the_next_public_change() -> None:
    run = started()
    for person in (ANN, BO):
        run.do(person, Join())
        run.fac(Next())
    run.do(ANN, Join())
    run.do(BO, Join())
    before = run.meeting.stack
    run.do(BO, Priority(True), source=Source.DIRECT)
    assert run.meeting.stack == before  # nobody can tell who asked from the order changing
    run.do(CY, Join())
    assert run.order() == ["Bo", "Cy", "Ann"]


def test_priority_and_not_yet_spoken_together_beat_either_alone() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    run.fac(Done())
    run.do(ANN, Join())  # spoken, priority: one lift
    run.do(ANN, Priority(True))
    run.do(BO, Join())  # not spoken: one lift
    run.do(CY, Join())  # not spoken and priority: two lifts
    run.do(CY, Priority(True))
    run.do(DEE, Join())  # not spoken: one lift; and the public change that applies priority
    assert run.order() == ["Cy", "Ann", "Bo", "Dee"]


def test_priority_stops_lifting_after_a_significant_contribution() -> None:
    run = Run(Settings(significant_turns=2, significant_seconds=0))
    run.fac(StartMeeting())
    run.do(ANN, Priority(True))
    for _ in range(2):
        run.do(ANN, Join())
        run.fac(Next())
        run.fac(Done())
    run.do(BO, Join())
    run.fac(Next())
    run.fac(Done())
    run.do(BO, Join())
    run.do(ANN, Join())
    assert run.order() == ["Bo", "Ann"]


def test_long_speaking_time_counts_as_a_significant_contribution() -> None:
    run = Run(Settings(significant_turns=0, significant_seconds=60))
    run.fac(StartMeeting())
    run.do(ANN, Priority(True))
    run.do(ANN, Join())
    run.fac(Next())
    run.fac(Done(), after=90)
    run.do(BO, Join())
    run.fac(Next())
    run.fac(Done(), after=5)
    run.do(BO, Join())
    run.do(ANN, Join())
    assert run.order() == ["Bo", "Ann"]


def test_lanes_go_ahead_of_the_regular_stack_in_their_order() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join(lane=Lane.DIRECT))
    run.do(CY, Join(lane=Lane.CLARIFYING))
    run.do(DEE, Join(lane=Lane.PROCESS))
    assert run.order() == ["Dee", "Cy", "Bo", "Ann"]


def test_with_lanes_off_a_lane_request_joins_the_regular_stack_and_says_so() -> None:
    run = started()
    run.fac(SetLanes(False))
    run.do(ANN, Join())
    joined = only(run.do(BO, Join(lane=Lane.PROCESS)), ev.Joined)
    assert joined.lanes_off and joined.lane is Lane.REGULAR
    assert run.order() == ["Ann", "Bo"]


def test_nobody_is_on_the_stack_twice_and_joining_again_only_tells_the_place() -> None:
    run = started()
    run.do(ANN, Join())
    again = only(run.do(ANN, Join(), source=Source.REACTION), ev.AlreadyOnStack)
    assert again.position == 1 and len(run.meeting.stack) == 1


def test_joining_again_in_another_lane_changes_the_lane() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    joined = only(run.do(BO, Join(lane=Lane.PROCESS)), ev.Joined)
    assert joined.lane_changed and run.order() == ["Bo", "Ann"]


def test_a_closed_stack_takes_only_points_of_process() -> None:
    run = started()
    run.fac(CloseStack())
    refused = only(run.do(ANN, Join()), ev.StackIsClosed)
    assert refused.person == ANN
    run.do(BO, Join(lane=Lane.PROCESS))
    run.fac(OpenStack())
    run.do(ANN, Join())
    assert run.order() == ["Bo", "Ann"]


def test_leaving_is_one_easy_signal_when_someone_said_what_you_were_thinking() -> None:
    run = started()
    run.do(ANN, Join())
    left = only(run.do(ANN, Leave()), ev.Left)
    assert left.person == ANN and run.meeting.stack == ()


def test_leaving_when_not_on_the_stack_changes_nothing() -> None:
    run = started()
    before = run.meeting
    only(run.do(ANN, Leave()), ev.NotOnStack)
    assert run.meeting == before


def test_only_a_facilitator_can_act_for_someone_else() -> None:
    run = started()
    refused = only(run.do(ANN, Join(who=BO)), ev.NotAllowed)
    assert refused.kind is CueKind.PUT_ON and run.meeting.stack == ()
    joined = only(run.fac(Join(who=Person.guest("Maria"))), ev.Joined)
    assert joined.by == FAC and joined.person.is_guest


def test_a_named_facilitator_may_call_next() -> None:
    run = started()
    run.fac(Facilitate(ANN))
    run.do(BO, Join())
    called = only(run.do(ANN, Next()), ev.Called)
    assert called.person == BO


def test_a_participant_cannot_call_next() -> None:
    run = started()
    run.do(BO, Join())
    before = run.meeting
    refused = only(run.do(ANN, Next()), ev.NotAllowed)
    assert refused.kind is CueKind.NEXT and run.meeting == before


def test_next_ends_the_turn_and_calls_the_top_of_the_stack() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    run.fac(Next())
    events = run.fac(Next(), after=42)
    ended = only(events, ev.TurnEnded)
    called = only(events, ev.Called)
    assert (ended.person, ended.seconds) == (ANN, 42)
    assert (called.person, called.up_next, called.remaining) == (BO, None, 0)
    assert run.meeting.current_turn is not None and run.meeting.current_turn.person == BO


def test_next_on_an_empty_stack_says_so() -> None:
    run = started()
    assert only(run.fac(Next()), ev.StackEmpty)


def test_only_the_speaker_can_say_done() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    assert only(run.do(BO, Done()), ev.NotSpeaker)
    ended = only(run.do(ANN, Done(), after=30), ev.TurnEnded)
    assert ended.yielded and ended.seconds == 31  # 1 s for the refused "done", then 30


def test_moved_person_keeps_their_place_as_others_join() -> None:
    run = started()
    for person in (ANN, BO, CY):
        run.do(person, Join())
    moved = only(run.fac(Move(CY, 1)), ev.Moved)
    assert moved.position == 1
    run.do(DEE, Join())
    assert run.order() == ["Cy", "Ann", "Bo", "Dee"]


def test_moving_to_a_place_that_does_not_exist_changes_nothing() -> None:
    run = started()
    run.do(ANN, Join())
    before = run.meeting
    refused = only(run.fac(Move(ANN, 5)), ev.NoSuchPlace)
    assert refused.size == 1 and run.meeting == before


def test_clear_empties_the_stack() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    cleared = only(run.fac(Clear()), ev.Cleared)
    assert cleared.removed == (ANN, BO) and run.meeting.stack == ()


def test_a_new_topic_counts_everyone_as_not_yet_spoken_again() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    run.do(ANN, Join())
    run.do(BO, Join())
    run.do(BO, Leave())
    topic = only(run.fac(NewTopic("Budget")), ev.TopicStarted)
    assert topic.title == "Budget" and topic.carried_over == 1
    run.do(BO, Join())
    assert run.order() == ["Ann", "Bo"]


def test_a_join_without_a_meeting_starts_one_so_nothing_is_lost() -> None:
    run = Run()
    events = run.do(ANN, Join())
    assert only(events, ev.MeetingStarted).automatic
    assert run.order() == ["Ann"]


def test_next_without_a_meeting_is_explained() -> None:
    run = Run()
    assert only(run.fac(Next()), ev.NoMeetingRunning).kind is CueKind.NEXT


def test_ouch_is_aimed_at_the_current_speaker_by_default() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    pinned = only(run.do(BO, Ouch()), ev.OuchPinned)
    assert (pinned.pin.by, pinned.pin.at_person) == (BO, ANN)


def test_anonymous_ouch_records_no_sender() -> None:
    run = started()
    pinned = only(run.do(BO, Ouch(at=CY, anonymous=True), source=Source.DIRECT), ev.OuchPinned)
    assert pinned.pin.by is None and run.meeting.pins[0].by is None
    assert "@bo" not in repr(run.meeting.pins)


def test_oops_acknowledges_the_ouch_aimed_at_the_sender_first() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(ANN, Ouch(at=CY))
    acknowledged = only(run.do(BO, Oops()), ev.OopsAcknowledged)
    assert acknowledged.pin.id == 1 and run.meeting.pins[0].oops_by == BO


def test_oops_with_no_ouch_aimed_at_you_takes_the_latest_open_one() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(ANN, Ouch())
    assert only(run.do(DEE, Oops()), ev.OopsAcknowledged).pin.id == 2


def test_open_pins_come_back_when_the_topic_ends_and_when_the_meeting_ends() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    assert only(run.fac(NewTopic("Next")), ev.PinsToDiscuss).moment is ev.Moment.TOPIC
    reminder = only(run.fac(EndMeeting()), ev.PinsToDiscuss)
    assert reminder.moment is ev.Moment.MEETING and reminder.pins[0].id == 1


def test_resolved_pins_are_not_brought_back() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    only(run.fac(Resolve()), ev.PinResolved)
    assert not [e for e in run.fac(EndMeeting()) if isinstance(e, ev.PinsToDiscuss)]


def test_resolving_a_pin_that_does_not_exist_is_explained() -> None:
    run = started()
    assert only(run.fac(Resolve(7)), ev.NoSuchPin).pin == 7


def test_priority_is_forgotten_when_the_meeting_ends() -> None:
    run = started()
    run.do(ANN, Priority(True))
    run.fac(EndMeeting())
    assert run.meeting.priority == frozenset()
    run.fac(StartMeeting())
    assert run.meeting.priority == frozenset()


def test_kept_priority_survives_into_the_next_meeting() -> None:
    run = started()
    run.do(ANN, Priority(True, keep=True))
    run.fac(EndMeeting())
    run.fac(StartMeeting())
    assert ANN.id in run.meeting.priority
    run.do(ANN, Priority(False))
    assert ANN.id not in run.meeting.kept_priority


def test_priority_is_never_in_a_status_view() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(ANN, Priority(True))
    shown = only(run.do(BO, Status()), ev.StatusShown)
    assert "priority" not in repr(shown).casefold()


def test_where_am_i_gives_the_place_and_the_size() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    where = only(run.do(BO, WhereAmI()), ev.WhereShown)
    assert (where.position, where.size, where.speaking) == (2, 2, False)


def test_the_wrap_up_reminder_comes_once_after_the_time_limit() -> None:
    run = Run(Settings(wrap_up_seconds=120))
    run.fac(StartMeeting())
    run.do(ANN, Join())
    run.fac(Next())
    assert run.do(FAC, Tick(), source=Source.CLOCK, after=60) == []
    reminded = only(run.do(FAC, Tick(), source=Source.CLOCK, after=61), ev.WrapUpReminded)
    assert reminded.person == ANN
    assert run.do(FAC, Tick(), source=Source.CLOCK, after=30) == []


def test_a_tick_with_nothing_to_say_leaves_the_meeting_unchanged() -> None:
    run = started()
    before = run.meeting
    run.do(FAC, Tick(), source=Source.CLOCK)
    assert run.meeting is before


def test_meeting_end_reports_speaking_totals() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    ended = only(run.fac(EndMeeting(), after=75), ev.MeetingEnded)
    assert [(t.person, t.turns, t.seconds) for t in ended.totals] == [(ANN, 1, 75)]


def test_an_open_ouch_outlives_its_meeting_until_resolved() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.fac(EndMeeting())
    assert only(run.fac(Resolve(1)), ev.PinResolved).pin.id == 1
    run.do(ANN, Ouch(at=CY))  # starts meeting 2, where numbering starts again
    run.fac(EndMeeting())
    run.fac(StartMeeting())
    assert [(pin.id, pin.at_person) for pin in run.meeting.pins] == [(1, CY)]
    assert only(run.do(ANN, Ouch()), ev.OuchPinned).pin.id == 2


def test_where_am_i_explains_only_the_public_part_of_a_place() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    run.fac(Done())
    run.do(ANN, Join())  # has spoken
    run.do(BO, Join())  # has not: goes ahead of Ann
    run.do(CY, Join(lane=Lane.PROCESS))
    run.do(DEE, Join())
    run.fac(Move(DEE, 1))
    where = only(run.do(ANN, WhereAmI()), ev.WhereShown)
    assert (where.position, where.ahead_by_lane, where.ahead_placed) == (4, 1, 1)
