"""The meeting state does not grow with the meeting, and still answers as the full history."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings

from scorebot.core import events as ev
from scorebot.core.model import (
    Join,
    Lane,
    Meeting,
    Next,
    Ouch,
    Person,
    Resolve,
    Scope,
    Signal,
    Source,
    StartMeeting,
)
from scorebot.core.rules import lifts
from scorebot.core.step import status, step, totals
from scorebot.store.codec import (
    SHAPE,
    ShapeTooNewError,
    decode_meeting,
    encode_meeting,
)
from tests.test_properties import signal_lists

FIXTURE = Path(__file__).parent / "fixtures" / "meeting_shape_0.json"

History = dict[str, list[float]]
"""person id -> the length of each of their turns"""


def replay(signals: list[Signal]) -> tuple[Meeting, History, History, tuple[str, float] | None]:
    """Fold the signals, and keep the full history of turns beside, from the events alone."""
    meeting = Meeting("!r:x")
    in_topic: History = defaultdict(list)
    in_meeting: History = defaultdict(list)
    speaking: tuple[str, float] | None = None
    for signal in signals:
        meeting, events = step(meeting, signal)
        for event in events:
            match event:
                case ev.MeetingStarted():
                    in_topic, in_meeting = defaultdict(list), defaultdict(list)
                case ev.TopicStarted():
                    in_topic = defaultdict(list)
                case ev.TurnEnded():
                    assert speaking is not None and speaking[0] == event.person.id
                    length = max(0.0, signal.at - speaking[1])
                    in_topic[event.person.id].append(length)
                    in_meeting[event.person.id].append(length)
                    speaking = None
                case ev.Called():
                    speaking = (event.person.id, signal.at)
                case ev.Renamed(position=None) if speaking is not None:
                    # "in the room N" was named while speaking: the turn is now theirs.
                    speaking = (event.person.id, speaking[1])
                case _:
                    pass
    return meeting, in_topic, in_meeting, speaking


def with_current(history: History, speaking: tuple[str, float] | None, now: float) -> History:
    out = {who: list(lengths) for who, lengths in history.items()}
    if speaking is not None:
        out.setdefault(speaking[0], []).append(max(0.0, now - speaking[1]))
    return out


@settings(max_examples=200, deadline=None)
@given(signals=signal_lists())
def test_tallies_give_the_same_totals_and_lifts_as_the_full_history(
    signals: list[Signal],
) -> None:
    meeting, in_topic, in_meeting, speaking = replay(signals)
    now = (signals[-1].at if signals else 0.0) + 7.0
    for scope, history in ((Scope.TOPIC, in_topic), (Scope.MEETING, in_meeting)):
        expected = with_current(history, speaking, now)
        shown = {t.person.id: (t.turns, t.seconds) for t in totals(meeting, now, scope)}
        assert shown.keys() == expected.keys()
        for who, lengths in expected.items():
            assert shown[who][0] == len(lengths)
            assert shown[who][1] == pytest.approx(sum(lengths))
    topic = with_current(in_topic, speaking, now)
    scoped = with_current(
        in_meeting if meeting.settings.spoken_scope is Scope.MEETING else in_topic, speaking, now
    )
    rules = meeting.settings
    for entry in meeting.stack:
        who = entry.person.id
        turns, seconds = len(topic.get(who, [])), sum(topic.get(who, []))
        significant = (0 < rules.significant_turns <= turns) or (
            0 < rules.significant_seconds <= seconds
        )
        lifted = (
            0
            if entry.waived
            else int(not scoped.get(who))
            + int(who in meeting.priority_in_order and not significant)
        )
        assert lifts(meeting, now)[who] == lifted


def long_meeting(signals: int) -> Meeting:
    people = [Person(f"@p{i}:example.org", f"Person {i}") for i in range(10)]
    fran = Person("@fran:example.org", "Fran")
    meeting, _ = step(
        Meeting("!r:x"), Signal("s", fran, StartMeeting("Weekly"), Source.CHAT, 0.0, True)
    )
    for index in range(signals):
        at = float(index + 1)
        kind = index % 4
        if kind == 3:
            signal = Signal(f"k{index}", fran, Next(), Source.CHAT, at, True)
        elif kind == 2 and index % 40 == 2:
            signal = Signal(f"k{index}", people[index % 10], Ouch(), Source.CHAT, at)
        elif kind == 2 and index % 40 == 22:
            signal = Signal(f"k{index}", fran, Resolve(), Source.CHAT, at, True)
        else:
            signal = Signal(
                f"k{index}", people[index % 10], Join(lane=Lane.REGULAR), Source.CHAT, at
            )
        meeting, _ = step(meeting, signal)
    return meeting


def test_the_stored_meeting_stays_the_same_size_as_the_meeting_goes_on() -> None:
    short, long = len(encode_meeting(long_meeting(200))), len(encode_meeting(long_meeting(2000)))
    assert long < short * 1.2, (short, long)


def test_an_old_shape_snapshot_written_by_the_previous_code_is_migrated() -> None:
    meeting = decode_meeting(FIXTURE.read_text())
    assert meeting.active and meeting.number == 1 and meeting.title == "Weekly"
    assert (meeting.topic.index, meeting.topic.title) == (2, "Budget")
    assert meeting.current_turn is not None and meeting.current_turn.person.name == "Ben"
    assert [(t.person.name, t.turns, t.seconds) for t in meeting.meeting_tallies] == [
        ("Ana", 1, 45.0),
        ("Ben", 1, 15.0),
    ]
    assert meeting.topic_tallies == ()
    assert [pin.id for pin in meeting.pins] == [2] and meeting.last_pin == 2
    assert meeting.priority == meeting.priority_in_order == {"@ana:example.org", "@ben:example.org"}
    assert meeting.kept_priority == {"@ana:example.org"} and meeting.closed
    shown = status(meeting, 1_700_000_110.0)
    assert [line.person.name for line in shown.stack] == ["Dolores", "Ana"]
    assert [(t.person.name, t.turns, t.seconds) for t in shown.totals] == [("Ben", 1, 10.0)]
    assert decode_meeting(encode_meeting(meeting)) == meeting


def test_the_current_shape_is_written_with_its_version_and_a_newer_one_is_refused() -> None:
    encoded = encode_meeting(Meeting("!r:x"))
    assert encoded.startswith(f'{{"shape":{SHAPE},')
    with pytest.raises(ShapeTooNewError):
        decode_meeting(encoded.replace(f'"shape":{SHAPE}', f'"shape":{SHAPE + 1}'))
