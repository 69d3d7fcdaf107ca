"""The listener side of spoken cues: keys that survive a restart, the ledger, in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scorebot.cli import main
from scorebot.config import SpeechConfig
from scorebot.core.model import Join, JoinRoom, Person, Signal, Source
from scorebot.matrix.room_microphone import Ledger, transaction_id
from scorebot.voice.hearing import file_keys, live_keys, prepare
from scorebot.voice.source import IN_PROCESS_MICROPHONE, hear_into
from speech.events import Cue
from tests.speech_voices import join, korean_model, require_tools, speak

MINSU = "@minsu:example.org"


def cue_at(start: float) -> Cue:
    return Cue("stack", None, start, start + 0.5, 0.9)


def test_a_recording_gives_the_same_keys_every_time_and_another_recording_others(
    tmp_path: Path,
) -> None:
    one, other = tmp_path / "one.wav", tmp_path / "other.wav"
    one.write_bytes(b"RIFF one")
    other.write_bytes(b"RIFF two")

    assert file_keys(one)(cue_at(1.5)) == file_keys(one)(cue_at(1.5))
    assert file_keys(one)(cue_at(1.5)) != file_keys(one)(cue_at(3.0))
    assert file_keys(one)(cue_at(1.5)) != file_keys(other)(cue_at(1.5))


def test_live_keys_are_never_reused_within_or_across_sessions() -> None:
    first, second = live_keys(), live_keys()
    keys = [first(cue_at(1.0)), first(cue_at(1.0)), second(cue_at(1.0))]
    assert len(set(keys)) == 3


def test_the_transaction_id_follows_from_the_key_alone() -> None:
    key = "file-abc:1.50"
    assert transaction_id(key) == transaction_id(key)
    assert transaction_id(key) != transaction_id("file-abc:3.00")
    assert transaction_id(key).replace("-", "").isalnum()


def test_the_ledger_remembers_posted_keys_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "data" / "posted-cues.txt"
    ledger = Ledger(path)
    assert "k1" not in ledger
    ledger.add("k1")

    again = Ledger(path)

    assert "k1" in again and "k2" not in again


def test_listen_with_a_config_without_a_speech_section_says_what_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "microphone.toml"
    config.write_text('[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@mic:x"\n')

    assert main(["listen", "--config", str(config)]) == 2

    assert "needs a [speech] section" in capsys.readouterr().err


async def test_cues_heard_in_process_become_voice_signals_for_the_members_named(
    tmp_path: Path,
) -> None:
    korean_model()
    require_tools()
    named = speak("민수 저요", tmp_path / "named.wav", "ko+f2", 140)
    unnamed = speak("저요", tmp_path / "unnamed.wav", "ko+f2", 140)
    recording = join([named, unnamed], tmp_path / "meeting.wav", gap=1.5)
    speech = SpeechConfig(room="!room", language="ko", names=("민수",), file=recording)
    hearing = await asyncio.to_thread(prepare, speech)
    delivered: list[Signal] = []

    await hear_into(hearing, delivered.append, lambda: {MINSU: "민수"}, clock=lambda: 42.0)

    assert [s.cue for s in delivered] == [Join(who=Person(MINSU, "민수")), JoinRoom()]
    assert all(s.source is Source.VOICE and s.facilitator and s.at == 42.0 for s in delivered)
    assert all(s.sender == IN_PROCESS_MICROPHONE for s in delivered)
    assert len({s.key for s in delivered}) == 2
    again: list[Signal] = []
    hearing = await asyncio.to_thread(prepare, speech)
    await hear_into(hearing, again.append, lambda: {MINSU: "민수"})
    assert [s.key for s in again] == [s.key for s in delivered]
