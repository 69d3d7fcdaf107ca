"""Chat vocabulary: a typed message becomes a cue, a helpful "unclear", or plain chat.

Forgiving and prefix-free: "stack", "Stack please!", "!stack" and "✋" all join. Only a
whole message that is a cue counts; a longer message that merely contains a cue word
("we stacked the chairs") is chat, because chat comments are fine but are not stack.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Facilitate,
    Help,
    Join,
    Lane,
    Leave,
    Minutes,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Priority,
    Resolve,
    SetLanes,
    StartMeeting,
    Status,
    WhereAmI,
)


@dataclass(frozen=True, slots=True)
class ParseContext:
    private: bool = False
    """the message came in a direct chat with the bot"""
    facilitator: bool = False
    """the sender may facilitate in the meeting room"""
    members: Mapping[str, str] = field(default_factory=dict)
    """the meeting room's members: user id -> display name"""
    lanes: bool = True


@dataclass(frozen=True, slots=True)
class Unclear:
    """Input that looked like a request but could not be understood; nothing changed."""

    message: str
    private: bool = False
    """answer only the sender, never the room"""


@dataclass(frozen=True, slots=True)
class PrivateRequest:
    """A request sent in a direct chat, for one named room or (None) the rooms shared."""

    cue: Cue
    room: str | None = None
    name: str | None = None
    """a person named in the request, to be found among that room's members"""


# ---------------------------------------------------------------- normalising

_HANDS = {"\u270b", "\U0001f590", "\U0001f64b", "\U0001f91a"}
_MODIFIERS = re.compile("[\ufe0f\ufe0e\u200d\u2640\u2642\U0001f3fb-\U0001f3ff]")
_EDGE_PUNCTUATION = " \t\n.,;:!?¡¿\"'“”‘’()[]{}*_~`"


def is_hand(key: str) -> bool:
    """A raised-hand emoji, with or without variation selector, skin tone or gender."""
    bare = _MODIFIERS.sub("", key.strip())
    return bool(bare) and all(char in _HANDS for char in bare)


def _fold(text: str) -> str:
    """Case-, punctuation- and spacing-insensitive form of a whole message."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = text.strip().lstrip("!/").strip()
    text = text.strip(_EDGE_PUNCTUATION)
    return " ".join(re.sub(r"[,;!?.]+(\s|$)", r" ", text.casefold()).split())


def _original_tail(text: str, words: int) -> str:
    """The original-case text after the first `words` words (for names and titles)."""
    clean = unicodedata.normalize("NFKC", text).strip().lstrip("!/").strip()
    parts = clean.split(maxsplit=words)
    tail = parts[words] if len(parts) > words else ""
    return tail.strip(_EDGE_PUNCTUATION + " ")


_JOIN = {
    "stack", "stack please", "stack me", "stack me please", "me", "me please", "add me",
    "put me on stack", "put me on the stack", "hand", "hand up", "raise hand",
    "raise my hand", "i'd like to speak", "i would like to speak", "speak",
}  # fmt: skip
_LANE_WORDS = {
    "process": Lane.PROCESS,
    "point of process": Lane.PROCESS,
    "process point": Lane.PROCESS,
    "clarify": Lane.CLARIFYING,
    "clarifying": Lane.CLARIFYING,
    "clarifying question": Lane.CLARIFYING,
    "clarification": Lane.CLARIFYING,
    "question": Lane.CLARIFYING,
    "direct": Lane.DIRECT,
    "direct response": Lane.DIRECT,
    "response": Lane.DIRECT,
}
_LEAVE = {
    "unstack", "unstack me", "off stack", "take me off", "take me off stack",
    "take me off the stack", "remove me", "never mind", "nevermind", "nvm",
    "already said", "they said it", "someone said it", "covered", "hand down",
    "lower hand", "lower my hand", "leave stack", "leave the stack",
}  # fmt: skip
_DONE = {
    "done", "i'm done", "im done", "i am done", "that's all", "thats all", "yield",
    "i yield", "finished", "i'm finished",
}  # fmt: skip
_NEXT = {"next", "next please", "next speaker", "call next"}
_STATUS = {
    "status", "list", "queue", "show stack", "show the stack", "who's on stack",
    "whos on stack", "who is on stack", "who's on the stack", "who is on the stack",
    "stack status", "who's next", "whos next", "who is next",
}  # fmt: skip
_WHERE = {"where am i", "where am i on the stack", "my place", "my position", "position"}
_HELP = {"help", "commands", "scorebot help", "what can i say", "how does this work"}
_CLEAR = {"clear", "clear stack", "clear the stack"}
_CLOSE = {"close stack", "close the stack", "stack closed"}
_OPEN = {"open stack", "open the stack", "reopen stack", "reopen the stack", "stack open"}
_END = {"end meeting", "end the meeting", "stop meeting", "meeting over", "close meeting"}
_PRIORITY_ON = {"priority", "priority on", "priority please", "i'd like priority"}
_PRIORITY_OFF = {"priority off", "no priority", "stop priority", "remove priority"}
_PRIORITY_KEEP = {"priority keep", "keep priority", "priority always", "always priority"}

_START = re.compile(r"^(?:start|begin|open)(?: the)? meeting\b")
_TOPIC = re.compile(r"^(?:new topic|next topic|topic|agenda item|agenda|new agenda item)\b")
_MOVE = re.compile(
    r"^(?:move|bump)\s+(.+?)(?:\s+(?:to|up to)\s+(?:place\s+|position\s+|#)?(\S+))?$"
)
_RESOLVE = re.compile(r"^(?:resolved?|resolve pin|resolved pin)(?:\s+(?:pin\s+)?#?(\S+))?$")

_STOP_WORDS = {
    "the", "a", "an", "it", "this", "that", "these", "those", "we", "you", "they", "them",
    "up", "on", "of", "and", "or", "is", "was", "my", "our", "your", "some", "all", "to",
    "in", "for", "with", "chairs", "overflow", "trace", "exchange", "more",
}  # fmt: skip
_NAME_WORD = re.compile(r"^[^\W\d_][\w'\-.]*$")


# ---------------------------------------------------------------- names


def resolve_person(text: str, members: Mapping[str, str], allow_guests: bool) -> Person | Unclear:
    """Find who a facilitator means: a Matrix id, a member's name, or an in-room guest."""
    name = text.strip(_EDGE_PUNCTUATION + " ")
    if re.fullmatch(r"@[^:\s]+:\S+", name):
        return Person(name, members.get(name) or name[1:].split(":")[0])
    wanted = name.casefold()
    if not wanted:
        return Unclear("Please say who you mean, for example: stack Maria.")
    exact = [uid for uid, display in members.items() if display.casefold() == wanted]
    if not exact:
        exact = [uid for uid in members if uid[1:].split(":")[0].casefold() == wanted]
    if len(exact) == 1:
        return Person(exact[0], members[exact[0]])
    candidates = exact or [
        uid
        for uid, display in members.items()
        if any(word.startswith(wanted) for word in display.casefold().split())
    ]
    if len(candidates) == 1:
        return Person(candidates[0], members[candidates[0]])
    if len(candidates) > 1:
        listed = ", ".join(f"{members[uid]} ({uid})" for uid in sorted(candidates))
        return Unclear(
            f'More than one person matches "{name}": {listed}. '
            "Please use their full name or their Matrix id. Nothing was changed."
        )
    if allow_guests and looks_like_name(name):
        return Person.guest(name)
    return Unclear(f'I could not find anyone called "{name}" in this room. Nothing was changed.')


def looks_like_name(text: str) -> bool:
    """An in-room guest's name: one to four name-like words, none of them common words."""
    words = text.split()
    return (
        0 < len(words) <= 4
        and all(_NAME_WORD.match(word) for word in words)
        and not any(word.casefold() in _STOP_WORDS for word in words)
    )


def _person_or_chat(tail: str, context: ParseContext) -> Person | Unclear | None:
    """A named person for a facilitator form; None when it reads as ordinary chat."""
    if not tail.startswith("@") and not looks_like_name(tail):
        return None
    found = resolve_person(tail, context.members, allow_guests=context.facilitator)
    if isinstance(found, Unclear) and not context.facilitator:
        return None
    return found


# ---------------------------------------------------------------- room messages


def parse(text: str, context: ParseContext) -> Cue | Unclear | None:
    """One message in a meeting room. None means ordinary chat: not a signal."""
    if is_hand(text):
        return Join()
    folded = _fold(text)
    if not folded or len(folded) > 120:
        return None
    if re.fullmatch(r"stack\s*\?", text.strip().casefold()):
        return Status()
    exact = _exact(folded)
    if exact is not None:
        return exact
    if folded in _PRIORITY_ON | _PRIORITY_OFF | _PRIORITY_KEEP:
        return Unclear(
            "I did not act on that here. To ask for this privately, send me a direct "
            "message; nobody else will see it.",
            private=True,
        )
    return _with_words(text, folded, context)


def _exact(folded: str) -> Cue | None:
    simple: dict[frozenset[str], Cue] = {
        frozenset(_JOIN): Join(),
        frozenset(_LEAVE): Leave(),
        frozenset(_DONE): Done(),
        frozenset(_NEXT): Next(),
        frozenset(_STATUS): Status(),
        frozenset(_WHERE): WhereAmI(),
        frozenset(_HELP): Help(),
        frozenset(_CLEAR): Clear(),
        frozenset(_CLOSE): CloseStack(),
        frozenset(_OPEN): OpenStack(),
        frozenset(_END): EndMeeting(),
        frozenset({"ouch"}): Ouch(),
        frozenset({"oops", "oops sorry", "oops my bad", "my bad"}): Oops(),
        frozenset({"minutes", "show minutes"}): Minutes(),
        frozenset({"lanes on", "lanes"}): SetLanes(True),
        frozenset({"lanes off", "no lanes"}): SetLanes(False),
    }
    for words, cue in simple.items():
        if folded in words:
            return cue
    lane = _LANE_WORDS.get(folded.removeprefix("stack ").removeprefix("me "))
    if lane is not None and (
        folded in _LANE_WORDS or folded.split(maxsplit=1)[0] in {"stack", "me"}
    ):
        return Join(lane=lane)
    return None


def _with_words(text: str, folded: str, context: ParseContext) -> Cue | Unclear | None:
    """Forms that carry a name, a number or a title."""
    first = folded.split(maxsplit=1)[0]
    if _START.match(folded):
        return StartMeeting(_original_tail(text, len(_START.match(folded).group(0).split())))  # type: ignore[union-attr]
    topic = _TOPIC.match(folded)
    if topic:
        return NewTopic(_original_tail(text, len(topic.group(0).split())))
    resolved = _RESOLVE.match(folded)
    if resolved:
        number = resolved.group(1)
        if number is None:
            return Resolve()
        if number.isdigit():
            return Resolve(int(number))
        return Unclear(f'"{number}" is not a pin number. Try: resolved 1. Nothing was changed.')
    if first in {"stack", "unstack", "ouch", "facilitator", "move", "bump"}:
        return _named(text, folded, first, context)
    return None


def _named(text: str, folded: str, first: str, context: ParseContext) -> Cue | Unclear | None:
    if first in {"move", "bump"}:
        return _move(text, folded, context)
    tail = _original_tail(text, 1)
    lane = Lane.REGULAR
    if first == "stack":
        words = tail.split()
        for size in (3, 2, 1):
            if len(words) > size and " ".join(words[-size:]).casefold() in _LANE_WORDS:
                lane = _LANE_WORDS[" ".join(words[-size:]).casefold()]
                tail = " ".join(words[:-size])
                break
    if first == "ouch":
        tail = re.sub(r"^(?:at|to)\s+", "", tail)
    if first == "facilitator":
        off = re.match(r"^(?:off|remove|no)\s+", tail, flags=re.IGNORECASE)
        tail = tail[off.end() :] if off else tail
    who = _person_or_chat(tail, context)
    if who is None or isinstance(who, Unclear):
        return who
    match first:
        case "stack":
            return Join(who=who, lane=lane)
        case "unstack":
            return Leave(who=who)
        case "ouch":
            return Ouch(at=who)
        case _:
            return Facilitate(who, on=not bool(off))


def _move(text: str, folded: str, context: ParseContext) -> Cue | Unclear | None:
    match = _MOVE.match(folded)
    if not match:
        return None
    words_before_place = len(match.group(0).split()) - (2 if match.group(2) else 0)
    name = _original_tail(text, 1)
    if match.group(2):
        name = " ".join(name.split()[: words_before_place - 1])
        name = re.sub(r"\s+(?:up\s+)?to(?:\s+(?:place|position))?$", "", name, flags=re.I)
    who = _person_or_chat(name, context)
    if who is None or isinstance(who, Unclear):
        return who
    place = match.group(2)
    if place is None:
        return Move(who, 1)
    words = {"first": 1, "top": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
    if place in words:
        return Move(who, words[place])
    place = re.sub(r"^#|(?<=\d)(?:st|nd|rd|th)$", "", place)
    if place.isdigit() and int(place) > 0:
        return Move(who, int(place))
    return Unclear(
        f"I could not tell where to move {who.name}. Try: move {who.name} to 2. "
        "Nothing was changed."
    )


# ---------------------------------------------------------------- direct messages

_ROOM_SUFFIX = re.compile(r"\s+(?:in|for|at)\s+(?:room\s+)?(.+)$", re.IGNORECASE)

PRIVATE_HELP = (
    "In this private chat you can send: "
    '"priority" to be lifted on the stack in meetings we share (only I know; it is '
    'forgotten when the meeting ends), "priority keep" to keep it for later meetings, '
    '"priority off" to stop; "ouch" to pin a moment of harm anonymously (add "in ROOM" '
    'if we share more than one room); "where am I" for your place on the stack; '
    '"help" for this message. Facilitators can also send "mark NAME in ROOM" or '
    '"unmark NAME in ROOM" to give someone priority privately.'
)


def parse_private(text: str, context: ParseContext) -> PrivateRequest | Unclear | None:
    """A message in a direct chat with the bot; sensitive words stay in this chat."""
    clean = unicodedata.normalize("NFKC", text).strip().lstrip("!/").strip()
    room: str | None = None
    suffix = _ROOM_SUFFIX.search(clean)
    folded_all = _fold(clean)
    if suffix and not (folded_all in _WHERE or folded_all in _HELP):
        room = suffix.group(1).strip(_EDGE_PUNCTUATION + " ")
        clean = clean[: suffix.start()]
    folded = _fold(clean)
    if not folded:
        return None
    if folded in _PRIORITY_KEEP:
        return PrivateRequest(Priority(True, keep=True), room)
    if folded in _PRIORITY_ON:
        return PrivateRequest(Priority(True), room)
    if folded in _PRIORITY_OFF:
        return PrivateRequest(Priority(False), room)
    if folded == "ouch":
        return PrivateRequest(Ouch(anonymous=True), room)
    if folded in _WHERE:
        return PrivateRequest(WhereAmI(), room)
    if folded in _STATUS:
        return PrivateRequest(Status(), room)
    if folded in _HELP:
        return PrivateRequest(Help(), room)
    mark = re.match(r"^(mark|unmark)\s+(.+)$", folded)
    if mark:
        name = _original_tail(clean, 1)
        return PrivateRequest(Priority(mark.group(1) == "mark"), room, name=name)
    return Unclear(PRIVATE_HELP, private=True)
