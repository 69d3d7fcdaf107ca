"""A room microphone's notices become voice signals, only from trusted microphones."""

from __future__ import annotations

from typing import Any

import pytest

from scorebot.app.items import Inbound, InRoom
from scorebot.core.model import (
    Join,
    JoinRoom,
    Lane,
    Leave,
    Next,
    Ouch,
    Person,
    Signal,
    Source,
)
from scorebot.core.parse import ParseContext, parse
from scorebot.matrix.memory import AdapterMemory
from scorebot.matrix.signals import Converter
from scorebot.voice.cues import (
    CUES,
    SIGNAL_FIELD,
    HeardCue,
    from_content,
    to_content,
    voice_key,
    voice_signal,
)
from speech.vocabulary import CUES as SPOKEN_CUES
from tests.test_matrix_signals import ALICE, BOT, ROOM, convert, event

MIC = "@room-mic:example.org"
MEMBERS = {BOT: "scorebot", ALICE: "Alice"}


def notice(sender: str, heard: HeardCue) -> Any:
    return event("m.room.message", sender, to_content(heard))


def trusting() -> Converter:
    return Converter(BOT, AdapterMemory(), trusted_microphones=[MIC])


def heard_signal(cue: str, name: str | None = None) -> Signal:
    heard = HeardCue(cue, name, "k1")
    return voice_signal(heard, microphone=Person(MIC, "mic"), members=MEMBERS, at=5.0)


def test_the_bot_understands_every_cue_the_listener_can_hear() -> None:
    assert set(SPOKEN_CUES) == CUES


def test_a_trusted_microphones_stack_with_a_name_puts_that_member_on_as_typed() -> None:
    message = notice(MIC, HeardCue("stack", "Alice", "f00d:1.25"))

    [item] = convert(trusting(), message)

    assert isinstance(item, Inbound)
    assert item.signal.cue == Join(who=Person(ALICE, "Alice"))
    typed = parse("stack Alice", ParseContext(facilitator=True, members=MEMBERS))
    assert item.signal.cue == typed
    assert item.signal.source is Source.VOICE and item.signal.facilitator
    assert item.signal.key == voice_key(MIC, "f00d:1.25") == f"voice:{MIC}:f00d:1.25"
    assert item.room == ROOM and item.destination == InRoom(message.event_id)


def test_a_stack_with_no_name_adds_someone_in_the_room_and_lanes_keep_their_lane() -> None:
    assert heard_signal("stack").cue == JoinRoom()
    assert heard_signal("process").cue == JoinRoom(Lane.PROCESS)
    assert heard_signal("clarify", "Alice").cue == Join(Person(ALICE, "Alice"), Lane.CLARIFYING)


def test_a_name_that_is_no_member_is_an_in_room_guest_in_any_script() -> None:
    assert heard_signal("stack", "마리아").cue == Join(who=Person.guest("마리아"))
    assert heard_signal("unstack", "Maria").cue == Leave(who=Person.guest("Maria"))
    assert heard_signal("ouch", "Alice").cue == Ouch(at=Person(ALICE, "Alice"))
    assert heard_signal("next").cue == Next()


def test_an_untrusted_account_posting_the_same_signal_is_only_chat() -> None:
    heard = HeardCue("stack", "Alice", "k")
    assert convert(trusting(), notice(ALICE, heard)) == []
    as_text = event("m.room.message", ALICE, {**to_content(heard), "msgtype": "m.text"})
    assert convert(trusting(), as_text) == []
    assert convert(Converter(BOT, AdapterMemory()), notice(MIC, heard)) == []


def test_the_same_key_from_two_microphones_gives_two_keys() -> None:
    other = "@other-mic:example.org"
    converter = Converter(BOT, AdapterMemory(), trusted_microphones=[MIC, other])
    heard = HeardCue("stack", None, "same")
    [one] = convert(converter, notice(MIC, heard))
    [two] = convert(converter, notice(other, heard))
    assert one.signal.key != two.signal.key


@pytest.mark.parametrize(
    "field",
    [
        None,
        "stack",
        {"cue": "dance", "name": None, "key": "k"},
        {"cue": "stack", "name": None},
        {"cue": "stack", "name": None, "key": ""},
        {"cue": "stack", "name": None, "key": "k" * 201},
        {"cue": "stack", "name": 3, "key": "k"},
        {"cue": "stack", "name": "x" * 81, "key": "k"},
        {"cue": "stack", "name": None, "key": "k", "start": "soon"},
    ],
)
def test_a_malformed_signal_from_a_trusted_microphone_changes_nothing(field: object) -> None:
    content = {"msgtype": "m.notice", "body": "Heard in the room: stack", SIGNAL_FIELD: field}
    assert from_content(content) is None
    assert convert(trusting(), event("m.room.message", MIC, content)) == []


def test_the_notice_says_in_words_what_was_heard_and_round_trips() -> None:
    heard = HeardCue("stack", "Maria", "abc:12.5", 12.5, 13.25, 0.91)
    content = to_content(heard)
    assert content["body"] == "Heard in the room: stack, Maria"
    assert content["msgtype"] == "m.notice"
    assert from_content(content) == heard
    assert to_content(HeardCue("next", None, "k"))["body"] == "Heard in the room: next"
