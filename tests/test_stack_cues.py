"""The cues facilitators and members asked for: later and last, undo, the heads-up."""

from __future__ import annotations

from scorebot.core import events as ev
from scorebot.core.minutes import RecordKind, line, records
from scorebot.core.model import (
    Clear,
    Join,
    Lane,
    Later,
    Leave,
    Move,
    Next,
    Person,
    Priority,
    SetHeadsUp,
    Settings,
    Source,
    StackAction,
    StartMeeting,
    Undo,
)
from scorebot.core.render import RenderContext, render, render_all
from scorebot.core.step import status
from tests.test_core import ANN, BO, CY, DEE, FAC, Run, only, started


def test_later_lets_the_person_behind_go_first_and_keeps_the_rest() -> None:
    run = started()
    for person in (ANN, BO, CY):
        run.do(person, Join())
    stepped = only(run.do(ANN, Later()), ev.SteppedBack)
    assert run.order() == ["Bo", "Ann", "Cy"] and stepped.position == 2
    run.do(DEE, Join())
    assert run.order() == ["Bo", "Ann", "Cy", "Dee"]
    run.fac(Next())  # Bo speaks: Ann is first again
    assert run.order() == ["Ann", "Cy", "Dee"]


def test_later_still_works_when_the_person_let_ahead_is_then_placed_by_hand() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    run.do(ANN, Later())
    assert run.order() == ["Bo", "Ann"]
    run.fac(Move(BO, 1))  # Bo is now placed by hand, no longer arranged by the rules
    assert run.order() == ["Bo", "Ann"]
    run.fac(Move(ANN, 1))
    assert run.order() == ["Ann", "Bo"]


def test_later_stays_within_the_lane() -> None:
    run = started()
    run.do(ANN, Join(lane=Lane.PROCESS))
    run.do(BO, Join())
    assert only(run.do(ANN, Later()), ev.NobodyBehind).position == 1
    assert run.order() == ["Ann", "Bo"]


def test_last_goes_behind_everyone_waiting_in_the_lane_and_gives_up_the_lifts() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    run.do(BO, Join())  # has not spoken: lifted
    run.do(ANN, Join())  # has spoken
    run.do(CY, Join())
    assert run.order() == ["Bo", "Cy", "Ann"]
    only(run.do(BO, Later(to_end=True)), ev.SteppedBack)
    assert run.order() == ["Cy", "Ann", "Bo"]
    run.do(DEE, Join())  # joins later and is lifted: goes ahead of someone who gave it up
    assert run.order() == ["Cy", "Dee", "Ann", "Bo"]


def test_later_for_someone_not_on_the_stack_says_so() -> None:
    run = started()
    assert only(run.do(ANN, Later()), ev.NotOnStack).asked_by_self


def test_undo_puts_back_a_cleared_stack_and_the_minutes_say_so() -> None:
    run = started()
    for person in (ANN, BO, CY):
        run.do(person, Join())
    run.fac(Clear())
    undone = only(run.fac(Undo()), ev.Undone)
    assert undone.action is StackAction.CLEARED and run.order() == ["Ann", "Bo", "Cy"]
    [record] = records([undone], run.now)
    assert record.kind is RecordKind.UNDONE
    assert line(record) == "A facilitator undid clearing the stack (done by Facilitator)."


def test_undo_takes_back_a_move_and_a_facilitators_put_on_and_take_off() -> None:
    run = started()
    for person in (ANN, BO, CY):
        run.do(person, Join())
    run.fac(Move(CY, 1))
    run.fac(Undo())
    assert run.order() == ["Ann", "Bo", "Cy"] and not any(e.pinned for e in run.meeting.stack)
    run.fac(Leave(who=BO))
    assert only(run.fac(Undo()), ev.Undone).person == BO
    assert run.order() == ["Ann", "Bo", "Cy"]
    run.fac(Join(who=DEE))
    run.fac(Undo())
    assert run.order() == ["Ann", "Bo", "Cy"]


def test_undo_is_only_for_the_last_change_while_nothing_else_changed_the_stack() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Clear())
    run.do(BO, Join())  # someone joined since: undoing now would lose them
    before = run.meeting
    assert only(run.fac(Undo()), ev.NothingToUndo)
    assert run.meeting == before
    assert only(run.fac(Undo()), ev.NothingToUndo)


def test_undo_never_undoes_twice_nor_a_call() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Move(ANN, 1))
    run.fac(Undo())
    assert only(run.fac(Undo()), ev.NothingToUndo)
    run.do(BO, Join())
    run.fac(Next())
    assert only(run.fac(Undo()), ev.NothingToUndo)


def test_the_person_next_gets_a_heads_up_that_mentions_them() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    called = only(run.fac(Next()), ev.Called)
    assert called.up_next == BO and called.heads_up
    reply = render(called, RenderContext(FAC, Source.CHAT))[0]
    assert "Bo, you are next." in reply.text and BO.id in reply.mentions


def test_a_new_first_place_while_someone_speaks_gets_its_own_heads_up() -> None:
    run = started()
    run.do(ANN, Join())
    run.do(BO, Join())
    run.fac(Next())  # Ann speaks, Bo is next
    events = run.do(BO, Leave())
    assert not [e for e in events if isinstance(e, ev.UpNext)]  # nobody is waiting now
    run.do(CY, Join())  # Cy is next, and said so themselves: no separate heads-up
    events = run.fac(Join(who=DEE, lane=Lane.PROCESS))
    assert only(events, ev.UpNext).person == DEE
    replies = render_all(events, RenderContext(FAC, Source.CHAT))
    assert any(r.text == "Dee, you are next." and DEE.id in r.mentions for r in replies)


def test_the_heads_up_can_be_switched_off_for_the_meeting() -> None:
    run = Run(Settings(heads_up=True))
    run.fac(StartMeeting())
    only(run.fac(SetHeadsUp(False)), ev.HeadsUpChanged)
    run.do(ANN, Join())
    run.do(BO, Join())
    called = only(run.fac(Next()), ev.Called)
    reply = render(called, RenderContext(FAC, Source.CHAT))[0]
    assert "Next up: Bo." in reply.text and reply.mentions == (ANN.id,)
    assert not [e for e in run.fac(Join(who=CY, lane=Lane.PROCESS)) if isinstance(e, ev.UpNext)]


def test_the_stack_overview_gives_each_place_in_words_and_the_speakers_time() -> None:
    run = started()
    for person in (ANN, BO, CY):
        run.do(person, Join())
    run.fac(Next())
    text = render(status(run.meeting, run.now + 65), RenderContext(FAC, Source.CHAT))[0].text
    assert "Ann has the floor (1 minute 5 seconds so far)." in text
    assert "- 1st: Bo\n- 2nd: Cy" in text


def test_priority_between_meetings_says_it_lasts_until_the_next_meeting_ends() -> None:
    run = Run()
    noted = only(run.do(ANN, Priority(True), source=Source.DIRECT), ev.PriorityNoted)
    assert not noted.meeting_running
    text = render(noted, RenderContext(ANN, Source.DIRECT, private=True))[0].text
    assert "It lasts until the next meeting ends." in text
    run.fac(StartMeeting())
    assert ANN.id in run.meeting.priority


def test_a_guest_never_gets_a_mention_in_a_heads_up() -> None:
    guest = Person.guest("Dolores")
    reply = render(ev.UpNext(guest), RenderContext(FAC, Source.CHAT))[0]
    assert reply.mentions == () and reply.text == "Dolores, you are next."
