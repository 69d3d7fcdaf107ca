"""Spoken cues end to end: a Korean recording heard by the real model, posted by the room
microphone account into an encrypted room on a real Synapse, applied by the bot once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message
from scorebot.matrix.room_microphone import LEDGER_NAME, post_heard_cues
from scorebot.voice.cues import SIGNAL_FIELD, HeardCue, to_content
from tests.conftest import MakeMember, fresh_localpart
from tests.speech_voices import join, korean_model, require_tools, speak
from tests.test_matrix_helpers import (
    REPLY_WAIT,
    meeting_room,
    register_bot,
    running_bot,
    say,
    write_bot_config,
)

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]

MIC_PASSWORD = "room microphone password for tests"
NAME = "민수"
"""a name the Korean model knows, enrolled in [speech] names"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ "민수 저요" (stack, 민수) then "저요" (stack, no name), as a facilitator would say them."""
    korean_model()
    require_tools()
    folder = tmp_path_factory.mktemp("voice")
    named = speak(f"{NAME} 저요", folder / "named.wav", "ko+f2", 140)
    unnamed = speak("저요", folder / "unnamed.wav", "ko+f2", 140)
    return join([named, unnamed], folder / "meeting.wav", gap=1.5)


def write_microphone_config(homeserver: Homeserver, user_id: str, room: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "microphone.toml"
    path.write_text(
        f"""
[matrix]
homeserver = "{homeserver.base_url}"
user_id = "{user_id}"
password = "{MIC_PASSWORD}"
device_name = "room microphone"
[storage]
data_dir = "microphone-data"
[speech]
room = "{room}"
language = "ko"
names = ["{NAME}"]
"""
    )
    return path


async def listen_once(config_path: Path, recording: Path) -> tuple[int, str]:
    out = io.StringIO()
    posted = await post_heard_cues(
        load_config(config_path), out, io.StringIO(), recording=recording
    )
    return posted, out.getvalue()


def answers(member: Member, bot: str) -> dict[str, int]:
    """How often the bot answered each spoken cue (answers sent together share a message)."""
    wanted = (f"put {NAME} on the stack", "in the room 1, you are on the stack")
    bodies = [
        r.body
        for r in member.records
        if isinstance(r, Message) and r.sender == bot and r.replaces is None
    ]
    return {w: sum(body.count(w) for body in bodies) for w in wanted}


async def test_cues_heard_in_the_room_reach_the_stack_once_even_when_heard_again(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path, recording: Path
) -> None:
    bot_id = await register_bot(homeserver)
    mic_id = await homeserver.register(fresh_localpart("room-mic"), MIC_PASSWORD)
    bot_config = write_bot_config(
        homeserver, bot_id, tmp_path / "bot", extra=f'trusted_microphones = ["{mic_id}"]'
    )
    async with running_bot(bot_config):
        alice = await make_member("alice")
        minsu = await make_member("minsu")
        await minsu.set_display_name(NAME)
        room = await meeting_room(alice, bot_id, minsu)
        assert alice.is_encrypted(room)
        await alice.invite(room, mic_id)
        mic_config = write_microphone_config(homeserver, mic_id, room, tmp_path / "mic")

        posted, printed = await listen_once(mic_config, recording)

        assert posted == 2
        assert printed.splitlines() == [
            f"Heard in the room: stack, {NAME}",
            "Heard in the room: stack",
        ]
        put_on = await alice.wait_message(
            lambda m: m.sender == bot_id and f"put {NAME} on the stack" in m.body,
            timeout=REPLY_WAIT,
        )
        assert minsu.user_id in put_on.mentions
        await alice.wait_message(
            lambda m: m.sender == bot_id and "in the room 1, you are on the stack" in m.body,
            timeout=REPLY_WAIT,
        )
        notices = [r for r in alice.records if isinstance(r, Message) and r.sender == mic_id]
        assert all(n.decrypted and n.msgtype == "m.notice" for n in notices)
        seen = await alice.identity_of(mic_id)
        assert seen.master_key is not None and list(seen.devices.values()) == [True]

        # The listener restarts and hears the same file: the ledger skips every cue.
        assert (await listen_once(mic_config, recording))[0] == 0
        # Without the ledger, the same transaction ids bring back the same events, and the
        # bot's keys would stop them anyway.
        (tmp_path / "mic" / "microphone-data" / LEDGER_NAME).unlink()
        assert (await listen_once(mic_config, recording))[0] == 2

        status = await say(alice, room, "status", bot_id)
        again = [r for r in alice.records if isinstance(r, Message) and r.sender == mic_id]

    assert len(again) == len(notices) == 2
    assert status.body.count(NAME) == 1 and status.body.count("in the room 1") == 1
    assert "in the room 2" not in status.body
    assert set(answers(alice, bot_id).values()) == {1}


async def test_an_untrusted_account_posting_a_signal_changes_nothing(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    trusted = f"@{fresh_localpart('room-mic')}:{homeserver.server_name}"
    bot_config = write_bot_config(
        homeserver, bot_id, tmp_path / "bot", extra=f'trusted_microphones = ["{trusted}"]'
    )
    async with running_bot(bot_config):
        alice = await make_member("alice")
        mallory = await make_member("mallory")
        room = await meeting_room(alice, bot_id, mallory)
        await say(alice, room, "stack", bot_id)
        forged = to_content(HeardCue("stack", None, "forged-1"))
        assert SIGNAL_FIELD in forged

        forged_id = await mallory.send_content(room, forged)
        status = await say(alice, room, "status", bot_id)

    assert "in the room" not in status.body
    assert "in order (1 person)" in status.body
    assert not [r for r in alice.records if isinstance(r, Message) and r.in_reply_to == forged_id]


async def test_the_bot_listening_on_its_own_computer_puts_the_right_people_on_the_stack(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path, recording: Path
) -> None:
    bot_id = await register_bot(homeserver)
    folder = tmp_path / "bot"
    async with running_bot(write_bot_config(homeserver, bot_id, folder)):
        alice = await make_member("alice")
        minsu = await make_member("minsu")
        await minsu.set_display_name(NAME)
        room = await meeting_room(alice, bot_id, minsu)
    speech = (
        f'\n[speech]\nroom = "{room}"\nlanguage = "ko"\nnames = ["{NAME}"]\nfile = "{recording}"\n'
    )
    (folder / "scorebot.toml").unlink()
    async with running_bot(write_bot_config(homeserver, bot_id, folder, extra=speech)):
        await alice.wait_message(
            lambda m: m.sender == bot_id and "in the room 1, you are on the stack" in m.body,
            timeout=REPLY_WAIT,
        )
        status = await say(alice, room, "status", bot_id)

    assert answers(alice, bot_id) == {
        f"put {NAME} on the stack": 1,
        "in the room 1, you are on the stack": 1,
    }
    assert status.body.index(NAME) < status.body.index("in the room 1")
    put_on = [r for r in alice.records if isinstance(r, Message) and f"put {NAME} on" in r.body]
    assert minsu.user_id in put_on[0].mentions  # the member, not a guest of the same name
