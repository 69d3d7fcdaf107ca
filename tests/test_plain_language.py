"""Every message the bot can send, graded for plain language (Flesch-Kincaid, textstat 0.7.3).

Run `.venv/bin/python -m tests.test_plain_language` to print the grade of every message line.
"""

from __future__ import annotations

import re
import statistics

import pytest
import textstat

from scorebot.core.minutes import Record, RecordKind, line
from scorebot.core.model import Person, StackAction
from scorebot.core.parse import ParseContext, parse, parse_private
from scorebot.core.render import (
    STORAGE_BACK,
    STORAGE_DOWN,
    ReplyKind,
    already_posted,
    private_help,
    rate_limited,
    render,
)
from tests.test_render import CONTEXTS, SAMPLES

MAX_GRADE = 6.0
JARGON = ("signal", "event", "cue", "token", "parse", "mxid", "power level", "queue", "enum")
PLACEHOLDERS = {"NAME", "TITLE", "ROOM"}
"""what people fill in, written in capitals in the help"""


def minutes_lines() -> list[str]:
    full = Record(1.0, RecordKind.OUCH, "Jo", "Maria", "chat", "regular stack", 65.0, 2, "3")
    lines = [line(Record(1.0, kind, **_fields(full, kind))) for kind in RecordKind]
    return lines + [
        line(Record(1.0, RecordKind.UNDONE, "Jo", "Fran", text=a.value)) for a in StackAction
    ]


def _fields(full: Record, kind: RecordKind) -> dict[str, object]:
    return {"who": full.who, "by": full.by, "channel": full.channel, "lane": full.lane,
            "seconds": full.seconds, "pin": full.pin, "text": full.text}  # fmt: skip


def messages() -> list[tuple[str, str]]:
    """(where it comes from, the message) for everything the bot says."""
    out: list[tuple[str, str]] = []
    for event in SAMPLES:
        for context in CONTEXTS:
            out += [(type(event).__name__, reply.text) for reply in render(event, context)]
    out += [("private help", private_help(facilitator).text) for facilitator in (True, False)]
    unclear = [parse("move Jo to banana", ParseContext(facilitator=True, members={"@jo:x": "Jo"}))]
    unclear += [parse("priority", ParseContext()), parse_private("x" * 400, ParseContext())]
    out += [("unclear", u.message) for u in unclear if u is not None and hasattr(u, "message")]
    out.append(("minutes", "\n".join(minutes_lines())))
    out += [("storage trouble", STORAGE_DOWN), ("storage back", STORAGE_BACK)]
    out += [("already posted", already_posted(kind).text) for kind in ReplyKind]
    ann = Person("@ann:example.org", "Ann")
    out += [("rate limited", rate_limited(ann, private).text) for private in (True, False)]
    return [(source, text) for source, text in out if text.strip()]


def grade(text: str) -> float:
    """The grade of one whole message; each line of a list counts as a sentence."""
    sentences = []
    for line_ in text.splitlines():
        sentence = line_.removeprefix("- ").strip()
        if sentence and not sentence.endswith((".", "?", "!", ":")):
            sentence += "."
        sentences.append(sentence)
    return float(textstat.flesch_kincaid_grade(" ".join(sentences)))


def test_every_message_reads_at_grade_six_or_lower() -> None:
    graded = [(grade(text), source, text) for source, text in messages()]
    too_hard = [(g, source, text) for g, source, text in graded if g > MAX_GRADE]
    assert not too_hard, "\n".join(f"{g:5.1f} {source}: {text}" for g, source, text in too_hard)


@pytest.mark.parametrize("word", JARGON)
def test_no_message_uses_jargon(word: str) -> None:
    for source, text in messages():
        assert not re.search(rf"\b{word}", text, re.IGNORECASE), (source, text)


def test_no_message_uses_acronyms() -> None:
    for source, text in messages():
        shouting = set(re.findall(r"\b[A-Z]{2,}\b", text)) - PLACEHOLDERS
        assert not shouting, (source, text)


def main() -> None:
    graded = sorted(((grade(text), source, text) for source, text in messages()), reverse=True)
    for g, source, text in graded:
        print(f"{g:5.1f}  {source:<20} {' '.join(text.split())[:110]}")
    grades = [g for g, _, _ in graded]
    print(
        f"\n{len(grades)} messages: median {statistics.median(grades):.1f}, worst {max(grades):.1f}"
    )


if __name__ == "__main__":
    main()
