"""Minutes too long for one Matrix event are posted in parts, cut between records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from scorebot.core.minutes import Record, records
from scorebot.core.model import (
    Cue,
    Join,
    Meeting,
    NewTopic,
    Next,
    Ouch,
    Person,
    Signal,
    Source,
    StartMeeting,
)
from scorebot.core.render import (
    MINUTES_PART_LIMIT,
    RenderContext,
    ReplyKind,
    minutes_document,
    minutes_documents,
)
from scorebot.core.step import step

ROOM = "!room:example.org"
FAC = Person("@fac:example.org", "Facilitator")


@dataclass(frozen=True, slots=True)
class Step:
    signal: Signal
    before: Meeting
    after: Meeting
    records: list[Record]


def long_meeting_steps(room: str, turns: int) -> list[Step]:
    """A meeting of `turns` turns among people with long, non-ASCII names, step by step."""
    meeting = Meeting(room)
    steps: list[Step] = []
    people = [
        Person(f"@p{n}:example.org", f"Ünïcødé speaker {n} 🙋 " + "ж" * 30) for n in range(12)
    ]
    cues: list[tuple[Person, Cue, bool]] = [(FAC, StartMeeting("A long planning meeting"), True)]
    for turn in range(turns):
        if turn % 25 == 0:
            cues.append((FAC, NewTopic(f"Topic {turn} " + "ç" * 200), True))
        cues.append((people[turn % len(people)], Join(), False))
        cues.append((FAC, Next(), True))
        if turn % 40 == 0:
            cues.append((people[(turn + 1) % len(people)], Ouch(), False))
    for index, (who, cue, facilitator) in enumerate(cues):
        at = 1_700_000_000.0 + index * 7
        signal = Signal(f"$long{index}:{room}", who, cue, Source.CHAT, at, facilitator)
        after, events = step(meeting, signal)
        steps.append(Step(signal, meeting, after, records(events, at)))
        meeting = after
    return steps


def long_meeting(turns: int) -> list[Record]:
    return [record for s in long_meeting_steps(ROOM, turns) for record in s.records]


def size(text: str, html: str) -> int:
    return len(json.dumps(text)) + len(json.dumps(html))


def test_a_long_meeting_is_posted_in_parts_that_each_fit_and_together_hold_every_record() -> None:
    lines = long_meeting(300)
    context = RenderContext(FAC, Source.CHAT)
    whole = minutes_document("Planning", ROOM, 1, lines, context)

    parts = minutes_documents("Planning", ROOM, 1, lines, context)

    assert size(whole.text, whole.html) > 2 * MINUTES_PART_LIMIT
    assert len(parts) >= 3
    assert all(size(part.text, part.html) <= MINUTES_PART_LIMIT for part in parts)
    assert all(part.kind is ReplyKind.MINUTES_DOCUMENT for part in parts)
    for index, part in enumerate(parts, start=1):
        assert part.text.startswith(f"Minutes, part {index} of {len(parts)}.")
    listed = [
        row
        for part in parts
        for row in part.text.splitlines()
        if row.startswith("- ") and ":" in row[:12]
    ]
    expected = [row for row in whole.text.splitlines() if row.startswith("- ") and ":" in row[:12]]
    assert listed == expected


def test_short_minutes_stay_one_message_without_a_part_number() -> None:
    lines = long_meeting(5)
    context = RenderContext(FAC, Source.CHAT)

    [only] = minutes_documents("Planning", ROOM, 1, lines, context)

    assert only == minutes_document("Planning", ROOM, 1, lines, context)


def test_every_record_is_kept_even_when_the_limit_is_tiny() -> None:
    lines = long_meeting(20)
    context = RenderContext(FAC, Source.CHAT)

    parts = minutes_documents("Planning", ROOM, 1, lines, context, limit=1)

    assert len(parts) == len(lines)
