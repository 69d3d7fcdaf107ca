"""The README's "What people type" table stays true: every word in it is understood, and the
help lists every cue the table does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scorebot.core import catalogue
from scorebot.core.parse import ParseContext, Unclear, is_hand, parse, parse_private
from scorebot.core.render import private_help

README = Path(__file__).parent.parent / "README.md"
MEMBERS = {"@ben:example.org": "Ben"}
FILLED = {"NAME": "Ben", "TITLE": "Rent", "ROOM": "Budget", "[lane]": "process", "[N]": "2"}


def table_rows() -> list[tuple[str, str]]:
    """(who, each typed form) from the table under "What people type"."""
    section = README.read_text().split("## What people type", 1)[1].split("\n## ", 1)[0]
    rows = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3 or cells[0] in {"who", "---"}:
            continue
        typed = cells[1].split("`, or")[0]  # "reply `ouch` to a message" is not typed alone
        rows += [(cells[0], form) for form in re.findall(r"`([^`]+)`", typed)]
    return rows


ROWS = table_rows()


def filled(form: str) -> str:
    form = form.replace("[in ROOM]", "in ROOM")
    return " ".join(FILLED.get(word, word) for word in form.split())


def test_the_table_was_found() -> None:
    assert len(ROWS) > 30


@pytest.mark.parametrize(("who", "form"), ROWS, ids=[f"{w}: {f}" for w, f in ROWS])
def test_every_form_in_the_readme_table_is_understood(who: str, form: str) -> None:
    text = filled(form)
    context = ParseContext(facilitator=who.startswith("facilitator"), members=MEMBERS)
    if who.endswith("privately") or who.startswith("privately"):
        result: object = parse_private(text, context)
    elif is_hand(text) or "reaction" in text:
        return  # emoji and reactions are channels, tested with the adapter
    else:
        result = parse(text, context)
    assert result is not None and not isinstance(result, Unclear), (form, result)


def test_every_form_in_the_readme_table_is_in_the_help() -> None:
    lines = [*catalogue.ROOM_HELP.values(), *catalogue.PRIVATE_HELP.values()]
    helped = " ".join(" ".join((line.say, *line.also, line.does)) for line in lines)
    helped += private_help(facilitator=True).text
    for _, form in ROWS:
        words = form
        for optional in ("[lane]", "[N]", "[in ROOM]"):
            words = words.replace(optional, "")
        words = words.strip()
        if is_hand(words) or words in {"stack please", "point of process", "someone said it"}:
            continue  # other ways of saying a cue whose main form is in the help
        assert words in helped, form
