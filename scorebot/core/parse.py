"""Chat vocabulary: a typed message becomes a cue, a helpful "unclear", or plain chat.

Forgiving and prefix-free: "stack", "Stack please!", "!stack" and "✋" all join. Only a
whole message that is a cue counts; a longer message that merely contains a cue word
("we stacked the chairs") is chat, because chat comments are fine but are not stack.

Safe on any input: a message longer than MAX_INPUT is chat (or, privately, "too long")
before any normalising or pattern is run, and no pattern here can backtrack: each is
anchored and linear, and names, places and rooms are found by splitting into words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from scorebot.core.ids import is_user_id, localpart
from scorebot.core.model import (
    Clear,
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Facilitate,
    Help,
    Join,
    JoinRoom,
    Lane,
    Later,
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
    Rename,
    Resolve,
    SetHeadsUp,
    SetLanes,
    StartMeeting,
    Status,
    Undo,
    WhereAmI,
)
from scorebot.core.render import private_help

MAX_INPUT = 300
"""characters: a longer message is never a cue, and is not looked at further"""


@dataclass(frozen=True, slots=True)
class ParseContext:
    facilitator: bool = False
    """the sender may facilitate in the meeting room"""
    members: Mapping[str, str] = field(default_factory=dict)
    """the meeting room's members: user id -> display name"""


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
_WORD_END = ",;!?."


def is_hand(key: str) -> bool:
    """A raised-hand emoji, with or without variation selector, skin tone or gender."""
    if len(key) > 20:
        return False
    bare = _MODIFIERS.sub("", key.strip())
    return bool(bare) and all(char in _HANDS for char in bare)


def _clean(text: str) -> str:
    """The message without a leading "!" or "/", with its original case (for names)."""
    return unicodedata.normalize("NFKC", text).strip().lstrip("!/").strip()


def _fold(text: str) -> str:
    """Case-, punctuation- and spacing-insensitive form of a whole message."""
    text = _clean(text).replace("’", "'").replace("‘", "'").strip(_EDGE_PUNCTUATION)
    # Word by word, not with a pattern: a run of punctuation is dropped at a word's end.
    words = (word.rstrip(_WORD_END) for word in text.casefold().split())
    return " ".join(word for word in words if word)


def _original_tail(text: str, words: int) -> str:
    """The original-case text after the first `words` words (for names and titles)."""
    parts = _clean(text).split(maxsplit=words)
    tail = parts[words] if len(parts) > words else ""
    return tail.strip(_EDGE_PUNCTUATION + " ")


# ---------------------------------------------------------------- the phrase table


def _table(*rows: tuple[Cue, str]) -> dict[str, Cue]:
    """Phrases to cues: each row is a cue and its phrases, separated by "|"."""
    return {phrase: cue for cue, phrases in rows for phrase in phrases.split("|")}


PHRASES: dict[str, Cue] = _table(
    (Join(), "stack|stack please|stack me|stack me please|me|me please|add me|put me on stack"
     "|put me on the stack|hand|hand up|raise hand|raise my hand|i'd like to speak"
     "|i would like to speak|speak"),
    (Join(lane=Lane.PROCESS), "process|point of process|process point|stack process"
     "|stack point of process|me process"),
    (Join(lane=Lane.CLARIFYING), "clarify|clarifying|clarifying question|clarification"
     "|question|stack clarify|stack clarifying|stack clarifying question|stack question"
     "|me clarify"),
    (Join(lane=Lane.DIRECT), "direct|direct response|response|stack direct"
     "|stack direct response|stack response|me direct"),
    (JoinRoom(), "stack room|stack in the room|stack someone in the room"),
    (Leave(), "unstack|unstack me|off stack|take me off|take me off stack|take me off the stack"
     "|remove me|never mind|nevermind|nvm|already said|they said it|someone said it|covered"
     "|hand down|lower hand|lower my hand|leave stack|leave the stack"),
    (Later(), "later|me later|step back|after them|you go first|go ahead"),
    (Later(to_end=True), "last|me last|put me last|to the back|back of the line|end of the line"),
    (Done(), "done|i'm done|im done|i am done|that's all|thats all|yield|i yield|finished"
     "|i'm finished"),
    (Next(), "next|next please|next speaker|call next"),
    (Status(), "status|list|queue|show stack|show the stack|who's on stack|whos on stack"
     "|who is on stack|who's on the stack|who is on the stack|stack status|who's next"
     "|whos next|who is next"),
    (WhereAmI(), "where am i|where am i on the stack|my place|my position|position"),
    (Help(), "help|commands|scorebot help|what can i say|how does this work"),
    (Clear(), "clear|clear stack|clear the stack"),
    (CloseStack(), "close stack|close the stack|stack closed"),
    (OpenStack(), "open stack|open the stack|reopen stack|reopen the stack|stack open"),
    (EndMeeting(), "end meeting|end the meeting|stop meeting|meeting over|close meeting"),
    (Undo(), "undo|undo that"),
    (Ouch(), "ouch"),
    (Oops(), "oops|oops sorry|oops my bad|my bad"),
    (Minutes(), "minutes|show minutes"),
    (SetLanes(True), "lanes on|lanes"),
    (SetLanes(False), "lanes off|no lanes"),
    (SetHeadsUp(True), "heads up on|heads-up on"),
    (SetHeadsUp(False), "heads up off|heads-up off|no heads up"),
)  # fmt: skip
"""Every whole-message phrase of the room, built once."""

_PRIORITY = _table(
    (Priority(True), "priority|priority on|priority please|i'd like priority"),
    (Priority(False), "priority off|no priority|stop priority|remove priority"),
    (Priority(True, keep=True), "priority keep|keep priority|priority always|always priority"),
)

PRIVATE_PHRASES: dict[str, Cue] = {
    **_PRIORITY,
    "ouch": Ouch(anonymous=True),
    **{phrase: cue for phrase, cue in PHRASES.items() if isinstance(cue, WhereAmI | Status | Help)},
}
"""Every whole-message phrase of a private chat (a room may follow: "ouch in Budget")."""

_LANE_WORDS = {
    phrase.removeprefix("stack "): cue.lane
    for phrase, cue in PHRASES.items()
    if isinstance(cue, Join) and cue.lane is not Lane.REGULAR and not phrase.startswith("me ")
}
"""lane words that may follow a name: "stack Maria process" """

_START = (
    "start meeting",
    "start the meeting",
    "begin meeting",
    "begin the meeting",
    "open meeting",
    "open the meeting",
)
_TOPIC = ("new agenda item", "agenda item", "new topic", "next topic", "agenda", "topic")
_PLACE_WORDS = {"first": 1, "top": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_NAMED = (
    "stack",
    "unstack",
    "ouch",
    "facilitator",
    "move",
    "bump",
    "oops",
    "resolved",
    "resolve",
    "rename",
)

# A guest's name (someone in the room who is not on Matrix) is one to four words, each
# starting with a capital letter as typed, none of them a function word: an article,
# pronoun, preposition, conjunction or auxiliary verb. Names are written with capitals,
# and function words are what turn a name-shaped tail into a sentence ("stack the
# chairs", "ouch that hurt"). Members are found by name whatever the case.
_FUNCTION_TEXT = (
    "a an the this that these those some all any each every no my your his her its our their"
    " i me you he she it we they them us him"
    " in on at to of for with from by about into onto over under up down off out as"
    " and or but so nor if then than"
    " is are was were be been am do does did have has had will would can could should may"
    " might must shall not"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())
_NAME_WORD = re.compile(r"[^\W\d_][\w'\-.]{0,40}")


# ---------------------------------------------------------------- names


def resolve_person(text: str, members: Mapping[str, str], allow_guests: bool) -> Person | Unclear:
    """Find who a facilitator means: a Matrix id, a member's name, or an in-room guest."""
    name = text.strip(_EDGE_PUNCTUATION + " ")
    if is_user_id(name):
        return Person(name, members.get(name) or localpart(name))
    wanted = name.casefold()
    if not wanted:
        return Unclear("Please say who you mean, for example: stack Maria.")
    exact = [uid for uid, display in members.items() if display.casefold() == wanted]
    if not exact:
        exact = [uid for uid in members if localpart(uid).casefold() == wanted]
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
    """An in-room guest's name, by the rule above."""
    words = text.split()
    return 0 < len(words) <= 4 and all(
        _NAME_WORD.fullmatch(word) and word[0].isupper() and word.casefold() not in _FUNCTION_WORDS
        for word in words
    )


def _is_member_name(text: str, members: Mapping[str, str]) -> bool:
    wanted = " ".join(text.split()).casefold()
    return any(
        display.casefold() == wanted or localpart(uid).casefold() == wanted
        for uid, display in members.items()
    )


def _symbols_only(text: str) -> bool:
    """An emoji or other symbols with no letters or digits: only ever a (display) name."""
    return bool(text) and len(text) <= 40 and not any(char.isalnum() for char in text)


def _person_or_chat(
    tail: str, context: ParseContext, *, command: bool = False
) -> Person | Unclear | None:
    """A named person for a named form; None when it reads as ordinary chat.

    `command`: the rest of the message already makes it a request (as "to 2" does after
    "move NAME"), so whoever sent it gets an answer even when the name is only symbols.
    """
    named = is_user_id(tail) or looks_like_name(tail) or _is_member_name(tail, context.members)
    symbols = _symbols_only(tail) and (context.facilitator or command)
    if not named and not symbols:
        return None
    found = resolve_person(tail, context.members, allow_guests=context.facilitator)
    if isinstance(found, Unclear) and not context.facilitator and not command:
        return None
    return found


# ---------------------------------------------------------------- room messages


def parse(text: str, context: ParseContext) -> Cue | Unclear | None:
    """One message in a meeting room. None means ordinary chat: not a signal."""
    if len(text) > MAX_INPUT:
        return None
    if is_hand(text):
        return Join()
    folded = _fold(text)
    if not folded:
        return None
    if folded == "stack" and text.strip().endswith("?"):
        return Status()
    exact = PHRASES.get(folded)
    if exact is not None:
        return exact
    if folded in _PRIORITY:
        return Unclear(
            "I did not act on that here. To ask for this privately, send me a direct "
            "message; nobody else will see it.",
            private=True,
        )
    return _with_words(text, folded, context)


def _starts(folded: str, prefixes: tuple[str, ...]) -> int | None:
    """How many words of `folded` the first matching prefix takes, if any matches."""
    for prefix in prefixes:
        if folded == prefix or folded.startswith(prefix + " "):
            return len(prefix.split())
    return None


def _with_words(text: str, folded: str, context: ParseContext) -> Cue | Unclear | None:
    """Forms that carry a name, a number or a title."""
    start = _starts(folded, _START)
    if start is not None:
        return StartMeeting(_original_tail(text, start))
    topic = _starts(folded, _TOPIC)
    if topic is not None:
        return NewTopic(_original_tail(text, topic))
    words = folded.split()
    first = words[0]
    if first not in _NAMED:
        return None
    if first in {"resolved", "resolve", "oops"}:
        return _numbered(first, words[1:])
    if first in {"move", "bump"}:
        return _move(text, first, context)
    if first == "rename":
        return _rename(text, context)
    return _named(text, first, context)


def _numbered(first: str, rest: list[str]) -> Cue | Unclear | None:
    """ "resolved", "resolved 2", "resolved pin 2", "oops 2"."""
    if rest and rest[0] == "pin":
        rest = rest[1:]
    if not rest:
        return Oops() if first == "oops" else Resolve()
    if len(rest) != 1:
        return None
    number = rest[0].removeprefix("#")
    if number.isdecimal() and len(number) <= 6:
        return Oops(int(number)) if first == "oops" else Resolve(int(number))
    if first == "oops":
        return None
    return Unclear(f'"{number[:20]}" is not a pin number. Try: resolved 1. Nothing was changed.')


def _named(text: str, first: str, context: ParseContext) -> Cue | Unclear | None:
    tail = _original_tail(text, 1)
    lane = Lane.REGULAR
    off = False
    if first == "stack":
        words = tail.split()
        for size in (3, 2, 1):
            if len(words) > size and " ".join(words[-size:]).casefold() in _LANE_WORDS:
                lane = _LANE_WORDS[" ".join(words[-size:]).casefold()]
                tail = " ".join(words[:-size])
                break
    if first == "ouch":
        head, _, rest = tail.partition(" ")
        tail = rest if head.casefold() in {"at", "to"} else tail
    if first == "facilitator":
        head, _, rest = tail.partition(" ")
        off = head.casefold() in {"off", "remove", "no"}
        tail = rest if off else tail
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
            return Facilitate(who, on=not off)


def _place(word: str) -> int | None:
    if word in _PLACE_WORDS:
        return _PLACE_WORDS[word]
    digits = word.removeprefix("#")
    for suffix in ("st", "nd", "rd", "th"):
        digits = digits.removesuffix(suffix)
    return int(digits) if digits.isdecimal() and len(digits) <= 4 and int(digits) > 0 else None


def _move(text: str, first: str, context: ParseContext) -> Cue | Unclear | None:
    """ "move NAME to 2", "move NAME up to place 2", "bump NAME" (to the top)."""
    words = _original_tail(text, 1).split()
    lowered = [word.casefold() for word in words]
    if "to" not in lowered:
        who = _person_or_chat(" ".join(words), context)
        return who if who is None or isinstance(who, Unclear) else Move(who, 1)
    split = len(lowered) - 1 - lowered[::-1].index("to")
    name_words, place_words = words[:split], lowered[split + 1 :]
    if name_words and name_words[-1].casefold() == "up":
        name_words = name_words[:-1]
    if place_words and place_words[0] in {"place", "position"}:
        place_words = place_words[1:]
    place = _place(place_words[0].strip(_EDGE_PUNCTUATION)) if len(place_words) == 1 else None
    who = _person_or_chat(" ".join(name_words), context, command=place is not None)
    if who is None or isinstance(who, Unclear):
        return who
    if place is not None:
        return Move(who, place)
    return Unclear(
        f"I could not tell where to move {who.name}. Try: {first} {who.name} to 2."
        " Nothing was changed."
    )


def _rename(text: str, context: ParseContext) -> Cue | Unclear | None:
    """ "rename room 1 Maria", "rename in the room 1 to Maria" (rule 10)."""
    words = _original_tail(text, 1).split()
    lowered = [word.casefold() for word in words]
    start = next(
        (len(p) for p in (["in", "the", "room"], ["room"]) if lowered[: len(p)] == p), None
    )
    if start is None:
        return None
    number = lowered[start].removeprefix("#") if len(lowered) > start else ""
    rest = words[start + 1 :]
    if rest and rest[0].casefold() in {"to", "as"}:
        rest = rest[1:]
    if not (number.isdecimal() and len(number) <= 4) or not rest:
        return Unclear("Say who it is, for example: rename room 1 Maria. Nothing was changed.")
    who = _person_or_chat(" ".join(rest), context)
    if who is None or isinstance(who, Unclear):
        return who
    return Rename(int(number), who)


# ---------------------------------------------------------------- direct messages

_ROOM_WORDS = frozenset({"in", "for", "at"})


def _split_room(clean: str) -> tuple[str, str | None]:
    """ "ouch in Budget" -> ("ouch", "Budget"): the room after the first "in", "for" or "at"
    (optionally followed by "room"), found by splitting into words."""
    words = clean.split()
    for index in range(1, len(words) - 1):
        if words[index].casefold() in _ROOM_WORDS:
            rest = words[index + 1 :]
            if len(rest) > 1 and rest[0].casefold() == "room":
                rest = rest[1:]
            room = " ".join(rest).strip(_EDGE_PUNCTUATION + " ")
            return " ".join(words[:index]), room or None
    return clean, None


def parse_private(text: str, context: ParseContext) -> PrivateRequest | Unclear | None:
    """A message in a direct chat with the bot; sensitive words stay in this chat."""
    if len(text) > MAX_INPUT:
        return Unclear(
            f"That message is too long for me to read (more than {MAX_INPUT} characters). Nothing"
            " was changed.",
            private=True,
        )
    clean = _clean(text)
    folded_all = _fold(clean)
    if not folded_all:
        return None
    whole = PRIVATE_PHRASES.get(folded_all)
    if whole is not None:
        return PrivateRequest(whole)
    request, room = _split_room(clean)
    folded = _fold(request)
    cue = PRIVATE_PHRASES.get(folded)
    if cue is not None:
        return PrivateRequest(cue, room)
    words = folded.split()
    if words and words[0] in {"mark", "unmark"} and len(words) > 1:
        name = _original_tail(request, 1)
        return PrivateRequest(Priority(words[0] == "mark"), room, name=name)
    return Unclear(private_help(context.facilitator, understood=False).text, private=True)
