"""`scorebot demo` end to end, as a user runs it: a subprocess with its own Synapse."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.synapse

ROOT = Path(__file__).resolve().parent.parent

DEMO_TIMEOUT = 120.0
"""seconds; the scripted meeting takes about 20"""

TRANSCRIPT_START = "What Ana sees in the room, decrypted:"
MINUTES_START = "# Minutes: Weekly"


@dataclass(frozen=True, slots=True)
class DemoRun:
    returncode: int
    stdout: str
    stderr: str
    tmpdir: Path
    """TMPDIR the demo ran with: its working folder was made inside"""

    @property
    def transcript(self) -> str:
        return self.stdout.split(TRANSCRIPT_START, 1)[-1].split(MINUTES_START, 1)[0]

    @property
    def workdir(self) -> Path:
        found = re.search(r"in (\S*scorebot-demo-\S+) …", self.stdout)
        assert found, self.stdout
        return Path(found.group(1))


def _demo_command() -> list[str]:
    return [sys.executable, "-m", "scorebot", "demo"]


def _environment(tmpdir: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmpdir)}


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    tmpdir = tmp_path_factory.mktemp("demo-tmp")
    result = subprocess.run(
        _demo_command(),
        cwd=ROOT,
        env=_environment(tmpdir),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return DemoRun(result.returncode, result.stdout, result.stderr, tmpdir)


def _synapse_running_in(folder: Path) -> bool:
    """Whether any process still runs with the folder in its command line (Synapse's -c)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(folder).encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def test_scripted_demo_finishes_with_exit_code_zero(scripted_run: DemoRun) -> None:
    assert scripted_run.returncode == 0, scripted_run.stderr[-3000:]


def test_the_demo_members_checked_that_the_bots_device_is_cross_signed(
    scripted_run: DemoRun,
) -> None:
    found = re.search(
        r"scorebot's device (\w+) is cross-signed by its own identity \(fingerprint ([^)]+)\): "
        r"Fran, Ana and Ben each checked the signatures",
        scripted_run.stdout,
    )
    assert found, scripted_run.stdout[:3000]
    assert "Warning" not in scripted_run.stdout.split(TRANSCRIPT_START, 1)[0]


def test_transcript_shows_every_way_of_joining_with_positions(scripted_run: DemoRun) -> None:
    transcript = scripted_run.transcript

    assert "[Ana] stack" in transcript
    assert "Ana, you are on the stack: 1st of 1." in transcript
    assert "[Ben reacted ✋ to scorebot's stack message]" in transcript
    assert "Ben, you are on the stack: 1st of 2. Your hand reaction was seen." in transcript
    assert "[Ben raised their hand in the call]" in transcript
    assert "Ben, you are on the stack: 2nd of 2. Your raised hand in the call was seen." in (
        transcript
    )
    assert "Fran put Carol on the stack: 3rd of 3." in transcript


def test_someone_who_has_not_spoken_is_called_before_a_second_turn(scripted_run: DemoRun) -> None:
    transcript = scripted_run.transcript
    ana_turns = [m.start() for m in re.finditer(r"Ana, you have the floor", transcript)]
    ben_first_turn = transcript.find("Ben, you have the floor")

    assert len(ana_turns) == 2
    assert ana_turns[0] < ben_first_turn < ana_turns[1]


def test_transcript_shows_the_ouch_and_the_oops(scripted_run: DemoRun) -> None:
    transcript = scripted_run.transcript

    assert "[Ana, replying to Ben] ouch" in transcript
    assert "Ouch noted as pin 1 from Ana, aimed at Ben." in transcript
    assert "[Ben] oops" in transcript
    assert "Ben said oops for ouch pin 1." in transcript


def test_minutes_are_printed_at_the_end_with_the_ouch_marked(scripted_run: DemoRun) -> None:
    minutes = scripted_run.stdout.split(MINUTES_START, 1)

    assert len(minutes) == 2, scripted_run.stdout[-2000:]
    assert "**Ouch, pin 1: Ana pinned a moment of harm, aimed at Ben.**" in minutes[1]
    assert "**Oops, pin 1: Ben acknowledged it.**" in minutes[1]
    assert "Ben joined the stack, regular stack, by raised hand in the call." in minutes[1]


def test_no_room_message_mentions_priority(scripted_run: DemoRun) -> None:
    assert scripted_run.transcript.strip()
    assert "priority" not in scripted_run.transcript.casefold()


def test_the_demo_removes_its_temporary_folder(scripted_run: DemoRun) -> None:
    assert not scripted_run.workdir.exists()
    assert list(scripted_run.tmpdir.iterdir()) == []
    assert not _synapse_running_in(scripted_run.workdir)


def test_ctrl_c_stops_the_demo_and_removes_its_folder(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    output = tmp_path / "stdout.txt"
    with output.open("w") as stdout:
        process = subprocess.Popen(
            _demo_command(),
            cwd=ROOT,
            env=_environment(tmpdir),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + DEMO_TIMEOUT
            while "[Ana] stack" not in output.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, "the demo never got to Ana's stack"
                time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    printed = output.read_text()
    workdir = DemoRun(0, printed, stderr, tmpdir).workdir

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert not workdir.exists()
    assert list(tmpdir.iterdir()) == []
    assert not _synapse_running_in(workdir)
