"""Plain text and HTML built together, so they cannot drift; and words for numbers and time.

A message is made of `Part`s: each is a run of words as plain text and as HTML. A plain
`str` is user text, always escaped. In a `fmt` template, words in double quotes are
commands people can type and are shown as code.
"""

from __future__ import annotations

import html
import math
import re
import string
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from scorebot.core import sanitize
from scorebot.core.ids import is_matrix_person
from scorebot.core.model import Person


@dataclass(frozen=True, slots=True)
class Part:
    """A run of words as plain text and as HTML, built together so they cannot drift."""

    text: str
    html: str


Piece = Part | str
"""A plain `str` is escaped for HTML: user-provided text is always safe to pass."""


@dataclass(frozen=True, slots=True)
class Items:
    """A bulleted list."""

    items: tuple[Part, ...]


Block = Part | Items


def p(*pieces: Piece) -> Part:
    return Part(
        "".join(piece if isinstance(piece, str) else piece.text for piece in pieces),
        "".join(html.escape(piece) if isinstance(piece, str) else piece.html for piece in pieces),
    )


def name(text: str) -> str:
    """A user-chosen name or title, through the one sanitizer."""
    return sanitize.clean(text)


def who(person: Person) -> Part:
    shown = name(person.name) or person.id
    if is_matrix_person(person.id):
        href = "https://matrix.to/#/" + urllib.parse.quote(person.id, safe="@:")
        return Part(shown, f'<a href="{html.escape(href)}">{html.escape(shown)}</a>')
    return p(shown)


def command(words: str) -> Part:
    return Part(f'"{words}"', f"&quot;<code>{html.escape(words)}</code>&quot;")


_COMMAND = re.compile(r'"([^"]+)"')


def fmt(template: str, /, **values: Part | str | int) -> Part:
    """`fmt('{who}, say "oops"', who=...)`: quoted words in the template become commands;
    `str` values are user text, escaped and never read as commands."""
    pieces: list[Piece] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        for index, chunk in enumerate(_COMMAND.split(literal)):
            if chunk:
                pieces.append(command(chunk) if index % 2 else chunk)
        if field is not None:
            value = values[field]
            pieces.append(value if isinstance(value, Part) else str(value))
    return p(*pieces)


def strong(part: Part) -> Part:
    return Part(part.text, f"<strong>{part.html}</strong>")


def joined(parts: Sequence[Part], last: str = " and ") -> Part:
    """Maria, Jo and Sam."""
    if len(parts) <= 1:
        return p(*parts)
    pieces: list[Piece] = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(last if index == len(parts) - 1 else ", ")
        pieces.append(part)
    return p(*pieces)


def compose(blocks: Sequence[Block]) -> tuple[str, str]:
    """Blocks as one message: paragraphs and "- " items in text, <p> and <ul> in HTML."""
    if len(blocks) == 1 and isinstance(blocks[0], Part):
        return blocks[0].text, blocks[0].html
    texts: list[str] = []
    markup: list[str] = []
    for block in blocks:
        if isinstance(block, Part):
            texts.append(block.text)
            markup.append(f"<p>{block.html}</p>")
            continue
        texts += [f"- {item.text}" for item in block.items]
        markup.append("<ul>" + "".join(f"<li>{item.html}</li>" for item in block.items) + "</ul>")
    return "\n".join(texts), "".join(markup)


# ---------------------------------------------------------------- words for numbers


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 101st, 111th."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def count(n: int, one: str, many: str | None = None) -> str:
    """ "1 person", "2 people": the number with the right form of the noun."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def duration(seconds: float) -> str:
    """A span of time in words: "2 minutes 5 seconds"."""
    whole = round(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    if whole == 0:
        return "less than a second"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        count(value, unit)
        for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if value
    ]
    return " ".join(parts)
