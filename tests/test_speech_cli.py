"""The listener's terminal: the level meter, the download progress bar, `scorebot` delegating."""

from __future__ import annotations

import io

import pytest

from scorebot.cli import main as scorebot_main
from speech.cli import Meter, ProgressBar, render_meter
from speech.events import Cue, Level


def test_the_level_meter_shows_loudness_and_the_last_cue() -> None:
    silent = render_meter(0.0, "nothing yet", width=10)
    loud = render_meter(0.5, "stack Maria at 12.3 s", width=10)
    assert silent.startswith("[..........]  -90 dB  last cue: nothing yet")
    assert loud.startswith("[#########.]   -6 dB  last cue: stack Maria at 12.3 s")


def test_the_meter_redraws_one_line_on_stderr() -> None:
    err = io.StringIO()
    meter = Meter(err)
    meter.show(Level(0.1, 1.0))
    meter.heard(Cue("ouch", "Ben", 3.0, 3.4, 0.9))
    meter.show(Level(0.1, 4.0))
    meter.done()
    text = err.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "last cue: ouch Ben at 3.4 s" in text.split("\r")[-1]


def test_the_progress_bar_counts_up_to_the_size() -> None:
    err = io.StringIO()
    bar = ProgressBar(err, "model", width=10)
    for got in (0, 500_000, 1_000_000):
        bar(got, 1_000_000)
    bar.done()
    assert err.getvalue().rstrip().endswith("model [##########] 1.0/1.0 MB")


def test_scorebot_delegates_listen_and_models_to_the_speech_package(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert scorebot_main(["models", "list"]) == 0
    assert "vosk-model-small-en-us-0.15" in capsys.readouterr().out
    assert scorebot_main(["listen", "--file", "nothing.wav"]) == 1
    assert "add --print" in capsys.readouterr().err
