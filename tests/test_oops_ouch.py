"""Oops and ouch as the seed says: "the person who made the mistake should respond with oops"."""

from __future__ import annotations

from scorebot.core import events as ev
from scorebot.core.minutes import RecordKind, records, to_markdown
from scorebot.core.model import EndMeeting, Join, Next, Oops, Ouch, Resolve, Source, Status
from scorebot.core.render import RenderContext, render
from tests.test_core import ANN, BO, CY, only, started


def test_an_ouch_from_the_speaker_with_no_target_is_aimed_at_nobody() -> None:
    run = started()
    run.do(ANN, Join())
    run.fac(Next())
    pinned = only(run.do(ANN, Ouch()), ev.OuchPinned)
    assert pinned.pin.at_person is None


def test_an_ouch_is_never_aimed_at_its_own_sender() -> None:
    run = started()
    pinned = only(run.do(BO, Ouch(at=BO)), ev.OuchPinned)
    assert pinned.pin.at_person is None


def test_oops_takes_the_ouch_aimed_at_the_sender() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(ANN, Ouch(at=CY))
    acknowledged = only(run.do(BO, Oops()), ev.OopsAcknowledged)
    assert acknowledged.pin.id == 1 and run.meeting.pins[0].oops_by == BO


def test_oops_takes_an_ouch_aimed_at_nobody_when_none_is_aimed_at_the_sender() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(CY, Ouch())  # nobody is speaking: aimed at nobody
    assert only(run.do(ANN, Oops()), ev.OopsAcknowledged).pin.id == 2


def test_oops_never_takes_an_ouch_aimed_at_someone_else_and_names_the_pin() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    before = run.meeting
    refused = only(run.do(CY, Oops()), ev.OuchAimedElsewhere)
    assert refused.pin.id == 1 and run.meeting == before
    text = render(refused, RenderContext(CY, Source.CHAT))[0].text
    assert text == 'Ouch pin 1 is aimed at Bo. If it was you, say "oops 1".'


def test_oops_with_a_number_claims_that_pin() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    acknowledged = only(run.do(CY, Oops(1)), ev.OopsAcknowledged)
    assert acknowledged.by == CY and run.meeting.pins[0].oops_by == CY
    assert only(run.do(CY, Oops(7)), ev.NoSuchPin).pin == 7


def test_status_lists_open_pins_by_number_and_whom_they_are_aimed_at() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(CY, Ouch())
    run.fac(Resolve(1))
    shown = only(run.do(ANN, Status()), ev.StatusShown)
    assert [pin.id for pin in shown.pins] == [2]
    text = render(shown, RenderContext(ANN, Source.CHAT))[0].text
    assert "1 open ouch to talk about:\n- pin 2, aimed at nobody in particular" in text


def test_the_minutes_say_which_pins_were_left_open_when_the_meeting_ended() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    run.do(CY, Ouch(at=ANN))
    run.fac(Resolve(2))
    ended = run.fac(EndMeeting())
    left = [r for r in records(ended, run.now) if r.kind is RecordKind.LEFT_OPEN]
    assert [(r.pin, r.who, r.who_id) for r in left] == [(1, "Bo", BO.id)]
    markdown = to_markdown("Weekly", "!room:example.org", 1, left)
    assert "**Ouch pin 1 (aimed at Bo) was left open at the end of the meeting.**" in markdown


def test_one_open_ouch_is_it_and_two_are_them() -> None:
    run = started()
    run.do(ANN, Ouch(at=BO))
    reminder = only(run.fac(EndMeeting()), ev.PinsToDiscuss)
    text = render(reminder, RenderContext(ANN, Source.CHAT))[0].text
    assert "1 open ouch not yet resolved. The minutes note it," in text
