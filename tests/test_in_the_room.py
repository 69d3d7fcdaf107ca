"""People in the room who ask to speak by voice with no name: "in the room 1", then renamed."""

from __future__ import annotations

from scorebot.core import events as ev
from scorebot.core.minutes import RecordKind, line, records
from scorebot.core.model import (
    CloseStack,
    EndMeeting,
    Join,
    JoinRoom,
    Lane,
    Later,
    Next,
    Person,
    Rename,
    Source,
    StartMeeting,
)
from scorebot.core.parse import ParseContext, Unclear, parse
from scorebot.core.render import RenderContext, render_all
from scorebot.core.step import status
from tests.test_core import ANN, BO, FAC, Run, only, started

MIC = Person("@mic:example.org", "Room microphone")
MEMBERS = {ANN.id: "Ann", BO.id: "Bo"}


def voice(run: Run, lane: Lane = Lane.REGULAR) -> list[ev.Event]:
    return run.do(MIC, JoinRoom(lane), facilitator=True, source=Source.VOICE)


def words(events: list[ev.Event], sender: Person = FAC) -> str:
    return " ".join(r.text for r in render_all(events, RenderContext(sender, Source.CHAT)))


def test_a_spoken_stack_with_no_name_adds_numbered_in_the_room_entries() -> None:
    run = started()
    run.do(ANN, Join())
    first = only(voice(run), ev.Joined)
    second = only(voice(run), ev.Joined)
    assert run.order() == ["Ann", "in the room 1", "in the room 2"]
    assert first.person == Person.in_room(1) and first.source is Source.VOICE
    assert first.person.is_guest and first.by is None
    assert second.position == 3
    assert "in the room 2, you are on the stack: 3rd of 3." in words([second], MIC)


def test_in_the_room_numbers_start_again_with_each_meeting() -> None:
    run = started()
    voice(run)
    voice(run)
    run.fac(EndMeeting())
    run.fac(StartMeeting("Next week"))
    assert only(voice(run), ev.Joined).person.name == "in the room 1"


def test_a_closed_stack_does_not_use_up_an_in_the_room_number() -> None:
    run = started()
    run.fac(CloseStack())
    assert only(voice(run), ev.StackIsClosed).person == Person.in_room(1)
    assert run.meeting.last_in_room == 0
    assert only(voice(run, Lane.PROCESS), ev.Joined).person.name == "in the room 1"


def test_only_a_facilitator_or_a_trusted_microphone_adds_someone_in_the_room() -> None:
    run = started()
    assert run.do(ANN, JoinRoom()) == [ev.NotAllowed(ev.CueKind.JOIN_ROOM)]
    assert run.meeting.stack == ()


def test_a_spoken_stack_starts_a_meeting_when_none_is_running() -> None:
    run = Run()
    events = voice(run)
    assert isinstance(events[0], ev.MeetingStarted) and run.order() == ["in the room 1"]


def test_renaming_keeps_the_place_and_tells_the_room() -> None:
    run = started()
    voice(run)
    run.do(ANN, Join())
    renamed = only(run.fac(Rename(1, Person.guest("Maria"))), ev.Renamed)
    assert run.order() == ["Maria", "Ann"]
    assert renamed.position == 1 and renamed.size == 2
    assert 'Facilitator gave "in the room 1" a name: Maria, now 1st of 2.' in words([renamed])


def test_renaming_to_a_member_who_already_spoke_lets_the_rules_place_them() -> None:
    run = started()
    run.do(BO, Join())
    run.fac(Next())  # Bo has spoken in this topic
    voice(run)
    run.do(ANN, Join())
    assert run.order() == ["in the room 1", "Ann"]
    run.fac(Rename(1, BO))
    assert run.order() == ["Ann", "Bo"]


def test_renaming_the_person_who_is_speaking_names_the_turn() -> None:
    run = started()
    voice(run)
    run.fac(Next())
    renamed = only(run.fac(Rename(1, ANN)), ev.Renamed)
    assert renamed.position is None
    turn = run.meeting.current_turn
    assert turn is not None and turn.person == ANN
    assert "a name: Ann, who is speaking now." in words([renamed])


def test_someone_who_let_in_the_room_go_first_stays_behind_the_renamed_person() -> None:
    run = started()
    run.do(ANN, Join())
    voice(run)
    run.do(BO, Join())
    run.do(ANN, Later())
    assert run.order() == ["in the room 1", "Ann", "Bo"]
    run.fac(Rename(1, Person.guest("Maria")))
    assert run.meeting.stack[1].after == Person.guest("Maria").id
    assert run.order() == ["Maria", "Ann", "Bo"]


def test_renaming_a_number_nobody_has_changes_nothing() -> None:
    run = started()
    voice(run)
    before = run.meeting
    events = run.fac(Rename(7, ANN))
    assert events == [ev.NoRoomEntry(7)] and run.meeting == before
    assert 'Nobody called "in the room 7" is on the stack or speaking.' in words(events)


def test_renaming_to_someone_already_waiting_changes_nothing() -> None:
    run = started()
    run.do(ANN, Join())
    voice(run)
    before = run.meeting
    events = run.fac(Rename(1, ANN))
    assert events == [ev.AlreadyOnStack(ANN, 1, Lane.REGULAR)] and run.meeting == before


def test_only_a_facilitator_may_rename() -> None:
    run = started()
    voice(run)
    assert run.do(ANN, Rename(1, ANN)) == [ev.NotAllowed(ev.CueKind.RENAME)]
    assert run.order() == ["in the room 1"]


def test_the_stack_overview_and_minutes_show_the_entry_and_its_new_name() -> None:
    run = started()
    voice(run)
    shown = words([status(run.meeting, run.now)])
    assert "in the room 1" in shown
    events = run.fac(Rename(1, Person.guest("Maria")))
    minuted = records(events, run.now)
    assert [r.kind for r in minuted] == [RecordKind.RENAMED]
    assert line(minuted[0]) == '"in the room 1" was named: Maria.'


def test_a_facilitator_types_stack_room_and_rename_room_in_chat() -> None:
    context = ParseContext(facilitator=True, members=MEMBERS)
    assert parse("stack room", context) == JoinRoom()
    assert parse("rename room 1 Maria", context) == Rename(1, Person.guest("Maria"))
    assert parse("rename in the room 2 to Ann", context) == Rename(2, ANN)
    assert parse("Rename room #3 as Bo", context) == Rename(3, BO)


def test_rename_without_a_number_or_a_name_is_explained_and_other_talk_is_chat() -> None:
    context = ParseContext(facilitator=True, members=MEMBERS)
    for text in ("rename room one Maria", "rename room 1"):
        result = parse(text, context)
        assert isinstance(result, Unclear) and "rename room 1 Maria" in result.message
    assert parse("rename the file please", context) is None
    assert parse("rename room 1 the chairs", ParseContext(members=MEMBERS)) is None
