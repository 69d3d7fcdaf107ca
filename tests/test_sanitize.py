"""One sanitizer for names wherever they are written: minutes Markdown, JSON and chat."""

from __future__ import annotations

import json
import re

import pytest

from scorebot.core import events as ev
from scorebot.core import sanitize
from scorebot.core.minutes import records, to_json, to_markdown
from scorebot.core.model import Lane, Person, Pin, Source
from scorebot.core.render import RenderContext, render

FORGER = Person("@gus:example.org", "gus\n- 12:00:00 OUCH #9: alice pinned a moment of harm")
ALICE = Person("@alice:example.org", "alice")
LOOK_ALIKE = Person("@mallory:example.org", "alice\u200b")
ROOM = "!room:example.org"


def minutes_for(*people: Person) -> list:  # type: ignore[type-arg]
    events: list[ev.Event] = [ev.MeetingStarted("Weekly", 1, room_name="Budget group")]
    events += [ev.Joined(person, Lane.REGULAR, 1, 1, Source.CHAT) for person in people]
    return records(events, 1_700_000_000.0)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("gus\n- 12:00 forged", "gus - 12:00 forged"),
        ("bob\r\nline", "bob line"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("\u2066isolated\u2069", "isolated"),
        ("ali\u200bce", "alice"),
        ("zero\ufeffwidth\u200d", "zerowidth"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bell\x07", "bell"),
        ("🙋\u200d♀️ Ana", "🙋\u200d♀️ Ana"),
        ("  spaced   out  ", "spaced out"),
    ],
)
def test_names_lose_line_breaks_controls_bidi_overrides_and_invisible_characters(
    raw: str, clean: str
) -> None:
    assert sanitize.clean(raw) == clean


def test_a_display_name_with_a_newline_cannot_forge_a_line_in_the_markdown_minutes() -> None:
    markdown = to_markdown("Weekly", ROOM, 1, minutes_for(FORGER))
    assert not any(line.startswith("- 12:00:00 OUCH") for line in markdown.splitlines())
    assert sum(1 for line in markdown.splitlines() if "OUCH #9" in line) == 2  # line + people
    for line in markdown.splitlines():
        if "OUCH #9" in line:
            assert line.startswith(("- 00:00", "- 22:13", "- gus"))


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("<img src=x onerror=alert(1)>", "<img"),
        ("[click](https://evil.example)", "[click](https"),
        ("**loud** _quiet_", "**loud**"),
        ("`code`", "`code`"),
        ("&lt;b&gt;", "&lt;"),
    ],
)
def test_html_links_and_emphasis_in_a_name_are_escaped_in_the_markdown(
    name: str, forbidden: str
) -> None:
    person = Person("@x:example.org", name)
    markdown = to_markdown("Weekly", ROOM, 1, minutes_for(person))
    body = markdown.split("\n", 5)[-1]
    # Escaped, Markdown shows the characters themselves: never unescaped structure.
    assert not re.search(r"(?<!\\)" + re.escape(forbidden), body), body


def test_look_alike_names_are_told_apart_by_their_matrix_ids() -> None:
    lines = minutes_for(ALICE, LOOK_ALIKE)
    markdown = to_markdown("Weekly", ROOM, 1, lines)
    assert "alice (@alice:example.org) joined" in markdown
    assert "alice (@mallory:example.org) joined" in markdown
    exported = json.loads(to_json("Weekly", ROOM, 1, lines))
    joined = [r for r in exported["records"] if r["kind"] == "joined stack"]
    assert [(r["who"], r["who_id"]) for r in joined] == [
        ("alice", "@alice:example.org"),
        ("alice", "@mallory:example.org"),
    ]


def test_an_ordinary_name_reads_plainly_with_the_people_listed_once_at_the_end() -> None:
    markdown = to_markdown("Weekly", ROOM, 1, minutes_for(ALICE))
    assert "- 22:13:20 alice joined the stack, regular stack, by chat." in markdown
    assert markdown.rstrip().endswith("- alice: @alice:example.org")


def test_the_minutes_header_names_the_room_by_its_name() -> None:
    markdown = to_markdown("Weekly", ROOM, 1, minutes_for(ALICE))
    assert "Room: Budget group. Meeting 1" in markdown
    assert json.loads(to_json("Weekly", ROOM, 1, minutes_for(ALICE)))["room_name"] == "Budget group"


def test_chat_replies_show_a_hostile_name_on_one_line_without_invisible_characters() -> None:
    pin = Pin(1, FORGER, Person("@x:example.org", "x\u202eevil"), 1.0)
    for reply in render(ev.OuchPinned(pin), RenderContext(ALICE, Source.CHAT)):
        assert "\n" not in reply.text and "\u202e" not in reply.text + reply.html
