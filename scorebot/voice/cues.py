"""A heard cue on the wire (`org.scorebot.signal`) and as the `Signal` the meeting takes.

Pure: the room microphone writes `to_content`, the bot reads `from_content`, and both the
bot's Matrix adapter and the in-process listener build the signal with `voice_signal`, so
a cue means the same however it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scorebot.core.model import (
    Cue,
    Done,
    Join,
    JoinRoom,
    Lane,
    Leave,
    Next,
    Oops,
    Ouch,
    Person,
    Signal,
    Source,
)
from scorebot.core.parse import Unclear, resolve_person

SIGNAL_FIELD = "org.scorebot.signal"
"""the machine-readable part of a room microphone's notice"""

_LANES = {
    "stack": Lane.REGULAR,
    "process": Lane.PROCESS,
    "clarify": Lane.CLARIFYING,
    "direct": Lane.DIRECT,
}
_PLAIN: dict[str, Cue] = {"next": Next(), "done": Done(), "oops": Oops()}
CUES = frozenset({*_LANES, *_PLAIN, "unstack", "ouch"})
"""the spoken cue names the bot understands (speech/'s vocabulary cues)"""
MAX_KEY = 200
"""characters: a longer key is not a key a microphone of ours wrote"""
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class HeardCue:
    """One cue the listener heard, as it travels from the microphone to the bot."""

    cue: str
    """a spoken cue name: stack, unstack, next, done, ouch, oops, process, clarify, direct"""
    name: str | None
    """the enrolled name said with it, or None"""
    key: str
    """unique per cue heard: the same cue heard again (a restart) has the same key"""
    start: float = 0.0
    """seconds into the recording or the listening session"""
    end: float = 0.0
    confidence: float = 0.0


def to_content(heard: HeardCue) -> dict[str, Any]:
    """The `m.notice` content a room microphone posts: words people read, and the field."""
    return {
        "msgtype": "m.notice",
        "body": notice_body(heard),
        SIGNAL_FIELD: {
            "cue": heard.cue,
            "name": heard.name,
            "key": heard.key,
            "start": round(heard.start, 2),
            "end": round(heard.end, 2),
            "confidence": round(heard.confidence, 3),
        },
    }


def notice_body(heard: HeardCue) -> str:
    """ "Heard in the room: stack, Maria" """
    return f"Heard in the room: {heard.cue}" + (f", {heard.name}" if heard.name else "")


def from_content(content: Mapping[str, Any]) -> HeardCue | None:
    """The heard cue in a message's content, or None if it carries none we understand."""
    field = content.get(SIGNAL_FIELD)
    if not isinstance(field, dict):
        return None
    cue, name, key = field.get("cue"), field.get("name"), field.get("key")
    if cue not in CUES or not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
        return None
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= MAX_NAME):
        return None
    numbers = [field.get(k, 0.0) for k in ("start", "end", "confidence")]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return None
    start, end, confidence = (float(n) for n in numbers)
    return HeardCue(str(cue), name, key, start, end, confidence)


def voice_key(microphone: str, key: str) -> str:
    """The idempotency key of a heard cue: the microphone's own key, namespaced by who sent
    it, so one microphone can never use up another's keys (nor a Matrix event id)."""
    return f"voice:{microphone}:{key}"


def voice_signal(
    heard: HeardCue,
    *,
    microphone: Person,
    members: Mapping[str, str],
    at: float,
    room_name: str = "",
) -> Signal:
    """The signal for a cue heard in the room.

    The microphone speaks for the room as a facilitator would: "stack Maria" puts Maria
    on the stack as if the facilitator typed it (a member by name, else an in-room guest),
    and "stack" with no name adds an "in the room" entry.
    """
    who = _person(heard.name, members) if heard.name else None
    return Signal(
        key=voice_key(microphone.id, heard.key),
        sender=microphone,
        cue=spoken_cue(heard.cue, who),
        source=Source.VOICE,
        at=at,
        facilitator=True,
        room_name=room_name,
    )


def spoken_cue(cue: str, who: Person | None) -> Cue:
    if cue in _LANES:
        lane = _LANES[cue]
        return Join(who=who, lane=lane) if who is not None else JoinRoom(lane)
    if cue == "unstack":
        return Leave(who=who)
    if cue == "ouch":
        return Ouch(at=who)
    return _PLAIN[cue]


def _person(name: str, members: Mapping[str, str]) -> Person:
    """A member by that name, else an in-room guest: enrolled names are people in the room."""
    found = resolve_person(name, members, allow_guests=False)
    return Person.guest(name) if isinstance(found, Unclear) else found
