"""The microphone path without a sound card: PulseAudio with a null sink whose monitor is the
default source, behind ALSA's pulse plugin, PortAudio and sounddevice. A synthesized cue is
played into the sink and the live listener must print it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from speech.audio import Converter
from tests.speech_voices import require_tools, speak

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server; the environment that points ALSA and pactl at it."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/bootstrap.sh dev installs it)")
    home = tmp_path_factory.mktemp("pulse")
    socket = home / "native"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "PULSE_RUNTIME_PATH": str(home),
        "PULSE_SERVER": f"unix:{socket}",
    }
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes",
         "--use-pid-file=no", "--log-target=stderr",
         "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
         "-L", "module-null-sink sink_name=room"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            ready = subprocess.run(["pactl", "info"], env=env, capture_output=True, check=False)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("PulseAudio did not start")
        subprocess.run(["pactl", "set-default-source", "room.monitor"], env=env, check=True)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    return found


def next_line(lines: queue.Queue[str], seconds: float) -> str:
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        return ""


def test_the_live_listener_hears_a_cue_played_into_the_microphone(
    pulse: dict[str, str], tmp_path: Path
) -> None:
    require_tools()
    cue = speak("저요", tmp_path / "stack.wav", "ko+f2", 150, rate=44_100, channels=2)
    listener = subprocess.Popen(
        [sys.executable, "-m", "speech", "listen", "--print", "--language", "ko",
         "--device", "pulse"],
        cwd=ROOT, env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert listener.stdout is not None and listener.stderr is not None
    try:
        errors = lines_of(listener.stderr)
        started = next_line(errors, 60)
        assert "listening on pulse" in started, started
        out = lines_of(listener.stdout)
        subprocess.run(["paplay", "--device=room", str(cue)], env=pulse, check=True)
        line = next_line(out, 30)
        assert line, "no cue was printed"
        heard = json.loads(line)
        assert heard["cue"] == "stack" and heard["name"] is None
        assert 0 < heard["start"] < heard["end"]
    finally:
        listener.send_signal(signal.SIGINT)
        code = listener.wait(timeout=20)
    assert code == 0


def test_a_missing_microphone_is_one_plain_sentence(pulse: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "speech", "listen", "--print", "--language", "ko",
         "--device", "no such microphone"],
        cwd=ROOT, env=pulse, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "no input device called 'no such microphone'" in result.stderr
    assert "--list-devices" in result.stderr


def test_missing_portaudio_says_what_to_install(tmp_path: Path) -> None:
    # What sounddevice does on a machine without libportaudio2: OSError on import.
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-m", "speech", "listen", "--list-devices"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "speech: PortAudio is not installed: install it (Debian and Ubuntu: sudo apt-get "
        "install libportaudio2; macOS: brew install portaudio).\n"
    )


def test_audio_from_a_device_that_cannot_do_16_khz_is_resampled_in_a_stream() -> None:
    rate = 44_100
    converter = Converter(rate, 1)
    tone = np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32) * 0.5
    pieces = [converter.convert(tone[i : i + 4410]) for i in range(0, rate, 4410)]
    pieces.append(converter.convert(np.zeros(0, dtype=np.float32), last=True))
    samples = np.frombuffer(b"".join(pieces), dtype="<i2")
    assert abs(len(samples) - 16_000) <= 1
    # the tone survives: 440 zero crossings up and down in one second
    crossings = np.count_nonzero(np.diff(np.signbit(samples[100:-100])))
    assert abs(crossings - 880 * (len(samples) - 200) / 16_000) < 10
