"""`scorebot listen --config` live, as a facilitator runs it: a cue played into a virtual
microphone (PulseAudio) is posted by the room microphone account and applied by the bot."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scorebot.demo.homeserver import Homeserver
from tests.conftest import MakeMember, fresh_localpart
from tests.speech_voices import korean_model, require_tools, speak
from tests.test_matrix_helpers import REPLY_WAIT, register_bot, running_bot, write_bot_config
from tests.test_speech_microphone import ROOT, lines_of, next_line, pulse
from tests.test_voice_end_to_end import MIC_PASSWORD, write_microphone_config

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]

__all__ = ["pulse"]  # the PulseAudio fixture, shared with the speech microphone tests


async def first_line_with(lines: object, text: str, seconds: float) -> str:
    """The first line that contains `text` within `seconds` (other lines are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        line = await asyncio.to_thread(next_line, lines, left)  # type: ignore[arg-type]
        if text in line:
            return line
    return ""


async def test_a_cue_said_into_the_microphone_reaches_the_stack_through_the_room_microphone(
    pulse: dict[str, str], homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    korean_model()
    require_tools()
    cue = speak("저요", tmp_path / "stack.wav", "ko+f2", 150, rate=44_100, channels=2)
    bot_id = await register_bot(homeserver)
    mic_id = await homeserver.register(fresh_localpart("room-mic"), MIC_PASSWORD)
    bot_config = write_bot_config(
        homeserver, bot_id, tmp_path / "bot", extra=f'trusted_microphones = ["{mic_id}"]'
    )
    async with running_bot(bot_config):
        alice = await make_member("alice")
        room = await alice.create_room("Live", invite=[bot_id, mic_id])
        await alice.wait_member(room, bot_id)
        config = write_microphone_config(homeserver, mic_id, room, tmp_path / "mic")
        listener = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "scorebot", "listen", "--config", str(config),
             "--device", "pulse"],
            cwd=ROOT, env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert listener.stdout is not None and listener.stderr is not None
        try:
            errors, out = lines_of(listener.stderr), lines_of(listener.stdout)
            started = await first_line_with(errors, "Listening on pulse", 90)
            assert started, "the listener did not start"
            assert "Audio stays on this computer" in started
            await asyncio.to_thread(
                subprocess.run, ["paplay", "--device=room", str(cue)], env=pulse, check=True
            )
            printed = await asyncio.to_thread(next_line, out, 30)
            assert printed.strip() == "Heard in the room: stack"
            answer = await alice.wait_message(
                lambda m: m.sender == bot_id and "in the room 1, you are on the stack" in m.body,
                timeout=REPLY_WAIT,
            )
        finally:
            listener.send_signal(signal.SIGINT)
            code = await asyncio.to_thread(listener.wait, 20)

    assert code == 0
    assert answer.decrypted
