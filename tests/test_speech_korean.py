"""The real engine end to end: Korean cues spoken by espeak-ng, heard by the real Korean model.

Decoding is deterministic here: Kaldi dithers the audio with libc `rand()`, and the
recognizer seeds it (`Tuning.seed`) at the start of every utterance, so the same file gives
the same words in any process. The whole-file tests still run the CLI in a fresh process,
as a facilitator would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from speech.audio import WavFile
from speech.events import Cue, Transcript
from speech.listener import cues
from speech.pipeline import CuePipeline
from speech.recognizer import Model
from speech.vocabulary import Vocabulary, load
from tests.speech_voices import ORDINARY, join, korean_model, require_tools, speak

ROOT = Path(__file__).resolve().parent.parent
VOICE, SPEED = "ko+f2", 170


@pytest.fixture(scope="module")
def korean() -> Vocabulary:
    return load("ko")


@pytest.fixture(scope="module")
def model() -> Model:
    return Model(korean_model())


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools()
    return tmp_path_factory.mktemp("korean")


@pytest.fixture(scope="module")
def meeting(recordings: Path, korean: Vocabulary) -> tuple[Path, list[str]]:
    """Each cue's first phrase, each followed by a sentence of ordinary talk, at 44.1 kHz stereo."""
    parts, expected = [], []
    for index, (cue, phrases) in enumerate(korean.cues.items()):
        phrase = phrases[0].replace(" ", "")
        parts.append(
            speak(phrase, recordings / f"cue{index}.wav", VOICE, SPEED, rate=44_100, channels=2)
        )
        expected.append(cue)
        sentence = ORDINARY[index % len(ORDINARY)]
        parts.append(
            speak(sentence, recordings / f"talk{index}.wav", VOICE, SPEED, rate=44_100, channels=2)
        )
    return join(parts, recordings / "meeting.wav"), expected


def listen_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "speech", "listen", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_korean_cue_said_in_a_meeting_is_heard_once_in_order(
    meeting: tuple[Path, list[str]],
) -> None:
    path, expected = meeting
    result = listen_cli("--file", str(path), "--print", "--language", "ko")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["cue"] for line in lines] == expected
    assert all(set(line) == {"cue", "name", "start", "end", "confidence"} for line in lines)
    assert all(line["name"] is None and 0 < line["start"] < line["end"] for line in lines)
    starts = [line["start"] for line in lines]
    assert starts == sorted(starts)


def test_ordinary_korean_talk_with_cue_words_inside_gives_no_cue(
    recordings: Path, model: Model, korean: Vocabulary
) -> None:
    parts = [
        speak(sentence, recordings / f"ordinary{i}.wav", voice, speed, pad=(0.0, 0.6))
        for i, (sentence, voice, speed) in enumerate(
            (s, v, sp) for s in ORDINARY for v, sp in (("ko", 150), ("ko+m3", 190), ("ko+f4", 170))
        )
    ]
    talk = join(parts, recordings / "ordinary.wav", gap=0.0)
    pipeline = CuePipeline(model, korean, transcripts=True)
    events = [e for chunk in WavFile(talk).chunks() for e in pipeline.feed(chunk)]
    events += list(pipeline.close())
    heard = [e.text for e in events if isinstance(e, Transcript)]
    assert len(heard) >= len(ORDINARY)  # it did hear talk, and cut it into utterances
    assert [e for e in events if isinstance(e, Cue)] == [], heard


def test_the_same_file_decodes_to_the_same_words_twice_in_one_process(
    meeting: tuple[Path, list[str]], model: Model, korean: Vocabulary
) -> None:
    def words() -> list[str]:
        pipeline = CuePipeline(model, korean, transcripts=True)
        events = [e for chunk in WavFile(meeting[0]).chunks() for e in pipeline.feed(chunk)]
        return [e.text for e in [*events, *pipeline.close()] if isinstance(e, Transcript)]

    first = words()
    assert first and words() == first


@pytest.mark.parametrize(("rate", "channels"), [(16_000, 2), (22_050, 1), (44_100, 2), (48_000, 2)])
def test_a_recording_at_any_common_rate_and_channel_count_is_heard(
    recordings: Path, model: Model, korean: Vocabulary, rate: int, channels: int
) -> None:
    path = speak(
        "무슨뜻이예요", recordings / f"rate{rate}.wav", VOICE, SPEED, rate=rate, channels=channels
    )
    pipeline = CuePipeline(model, korean)
    found = [e for chunk in WavFile(path).chunks() for e in pipeline.feed(chunk)]
    found += list(pipeline.close())
    assert [e.cue for e in found if isinstance(e, Cue)] == ["clarify"]


async def test_the_async_listener_hands_cues_over_from_its_thread(
    meeting: tuple[Path, list[str]], model: Model, korean: Vocabulary
) -> None:
    path, expected = meeting
    heard = [cue.cue async for cue in cues(WavFile(path), model, korean)]
    assert heard == expected


async def test_leaving_the_listener_early_stops_its_thread(
    meeting: tuple[Path, list[str]], model: Model, korean: Vocabulary
) -> None:
    stream = cues(WavFile(meeting[0]), model, korean)
    first = await anext(stream)
    await stream.aclose()
    assert first.cue == meeting[1][0]
    assert not [t for t in threading.enumerate() if t.name == "speech-decoder"]


def test_a_missing_model_is_one_plain_sentence(tmp_path: Path, recordings: Path) -> None:
    result = listen_cli("--file", str(tmp_path / "x.wav"), "--print", "--model", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "is not a vosk model" in result.stderr


def test_an_unreadable_recording_is_one_plain_sentence(recordings: Path) -> None:
    bad = recordings / "not-audio.wav"
    bad.write_text("hello")
    result = listen_cli("--file", str(bad), "--print", "--language", "ko")
    assert result.returncode == 1
    assert result.stderr.startswith("speech: cannot read") and result.stderr.count("\n") == 1


def test_listen_without_print_says_what_to_add() -> None:
    result = listen_cli("--file", "x.wav")
    assert result.returncode == 1 and "--print" in result.stderr


def test_an_enrolled_name_the_model_cannot_say_is_named_plainly_at_start(
    meeting: tuple[Path, list[str]],
) -> None:
    # "민수" is a word of the Korean model, "도윤" is not: only "도윤" is reported.
    result = listen_cli(
        "--file", str(meeting[0]), "--print", "--language", "ko", "--names", "민수,도윤"
    )
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "name" in line]
    assert notes == [
        "speech: the name '도윤' is not a word the model knows, so it cannot be heard; "
        "try another spelling of it."
    ]
    assert [json.loads(line)["cue"] for line in result.stdout.splitlines()] == meeting[1]


def test_a_stack_cue_followed_at_once_by_more_talk_is_dropped(
    recordings: Path, model: Model, korean: Vocabulary
) -> None:
    # "저요", a short pause (espeak-ng's own and 0.1 s), then a sentence: the start of talk
    parts = [
        speak("저요", recordings / "jeoyo.wav", VOICE, SPEED, pad=(0.5, 0.1)),
        speak("회의를 준비했습니다", recordings / "more.wav", VOICE, SPEED, pad=(0.0, 1.0)),
    ]
    talk = join(parts, recordings / "jeoyo-talk.wav", gap=0.0)

    def heard(vocabulary: Vocabulary) -> list[str]:
        pipeline = CuePipeline(model, vocabulary)
        events = [e for chunk in WavFile(talk).chunks() for e in pipeline.feed(chunk)]
        return [e.cue for e in [*events, *pipeline.close()] if isinstance(e, Cue)]

    assert korean.confirm == {"stack": 0.6}
    assert heard(replace(korean, confirm={})) == ["stack"]  # without the wait it would count
    assert heard(korean) == []


def test_a_stack_cue_said_on_its_own_still_counts_after_its_wait(
    recordings: Path, model: Model, korean: Vocabulary
) -> None:
    path = speak("저요", recordings / "jeoyo-alone.wav", VOICE, SPEED)
    pipeline = CuePipeline(model, korean)
    emitted = [
        (e, chunk.end) for chunk in WavFile(path).chunks() for e in pipeline.feed(chunk)
        if isinstance(e, Cue)
    ]  # fmt: skip
    assert [cue.cue for cue, _ in emitted] == ["stack"]
    cue, at = emitted[0]
    assert at >= cue.end + 0.6  # emitted only once its quiet had lasted


@pytest.mark.parametrize(
    ("cue", "voice"), [("clarify", "ko+f1"), ("process", "ko+f4"), ("direct", "ko+m3")]
)
def test_a_cue_heard_just_below_the_best_reading_counts_through_the_margin(
    model: Model, korean: Vocabulary, recordings: Path, cue: str, voice: str
) -> None:
    """These voices' cue phrases (at 150 words a minute) are the second or third reading of
    the real model, under a neighbouring grammar word: found through `margin`, lost
    without it."""
    (phrase,) = korean.cues[cue]
    path = speak(phrase.replace(" ", ""), recordings / f"below-{cue}.wav", voice, 150)

    def heard(vocabulary: Vocabulary) -> list[str]:
        pipeline = CuePipeline(model, vocabulary)
        events = [e for chunk in WavFile(path).chunks() for e in pipeline.feed(chunk)]
        return [e.cue for e in [*events, *pipeline.close()] if isinstance(e, Cue)]

    assert korean.margin > 0
    assert heard(korean) == [cue]
    assert heard(replace(korean, margin=0.0)) == []
