"""One sanitizer for names and titles, wherever they are written: chat, minutes, exports.

People choose their own display names, so a name can carry line breaks, bidirectional
overrides, zero-width characters, HTML or Markdown. Written into the minutes as is, such a
name could forge a line or a link, or look exactly like someone else's. `clean` removes
what changes how text reads without being text; `markdown` escapes what Markdown would
read as structure. HTML escaping stays with the HTML writer (`html.escape`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

MAX_NAME = 100
"""characters kept of a name or title: enough for any real one, short enough for a line"""

_ZWJ = "\u200d"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&~|])")
"""what Markdown reads as structure in the middle of a line: emphasis, code, links and
images, raw HTML and entities, strikethrough and tables (names never start a line)"""


def _keep(text: str, index: int) -> bool:
    char = text[index]
    if char.isspace():
        return True  # line breaks and tabs become single spaces below
    category = unicodedata.category(char)
    if char == _ZWJ:
        # Emoji sequences (🙋‍♀️) join symbols with it; between letters it only hides a look-alike.
        before = text[index - 1] if index else ""
        return bool(before) and unicodedata.category(before) in {"So", "Sk", "Mn"}
    # Cc: control characters (line breaks, escapes); Cf: format characters (bidi overrides
    # U+202A-202E and U+2066-2069, zero-width spaces and joiners, soft hyphens); Co, Cs, Cn:
    # private, broken or unassigned code points.
    return category not in {"Cc", "Cf", "Co", "Cs", "Cn"}


@functools.lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """A name or title as one plain line: no control, format or invisible characters,
    whitespace collapsed to single spaces, at most MAX_NAME characters."""
    if len(text) > 4 * MAX_NAME:
        text = text[: 4 * MAX_NAME]
    kept = "".join(char for index, char in enumerate(text) if _keep(text, index))
    return " ".join(kept.split())[:MAX_NAME].strip()


def markdown(text: str) -> str:
    """`clean` text, with every character Markdown reads as structure escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean(text))
