"""The layout keeps its directions: a pure core, adapters at the edge, a speech package apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the pure core may never touch: I/O, the clock, the event loop, logging, randomness.
CORE_FORBIDDEN = {
    "asyncio", "aiosqlite", "sqlite3", "nio", "logging", "time", "os", "random",
    "socket", "subprocess", "pathlib", "threading", "secrets", "uuid",
}  # fmt: skip


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("scorebot/core"), ids=lambda p: p.name)
def test_the_core_does_no_io_and_reads_no_clock(path: Path) -> None:
    used = imports(path)
    assert not roots(used) & CORE_FORBIDDEN, f"{path.name} imports {roots(used) & CORE_FORBIDDEN}"
    assert not {n for n in used if n.startswith("scorebot.") and not n.startswith("scorebot.core")}
    source = path.read_text()
    for clock in ("datetime.now(", ".now(", "time.time(", "monotonic("):
        assert clock not in source, f"{path.name} reads the clock ({clock})"


@pytest.mark.parametrize("path", python_files("scorebot/store"), ids=lambda p: p.name)
def test_the_store_knows_nothing_of_matrix(path: Path) -> None:
    used = imports(path)
    assert "nio" not in roots(used)
    assert not {n for n in used if n.startswith(("scorebot.matrix", "scorebot.cli"))}


@pytest.mark.parametrize("path", python_files("speech"), ids=lambda p: p.name)
def test_speech_never_imports_scorebot_or_nio(path: Path) -> None:
    assert not roots(imports(path)) & {"scorebot", "nio"}


@pytest.mark.parametrize("path", python_files("scorebot/app"), ids=lambda p: p.name)
def test_the_app_knows_no_source_or_adapter_of_its_own(path: Path) -> None:
    """The app defines its ports; Matrix, speech and the stores plug in from outside."""
    used = imports(path)
    assert not roots(used) & {"nio", "speech", "aiosqlite", "sqlite3", "vosk", "sounddevice"}
    outside = {
        name
        for name in used
        if name.startswith("scorebot.") and not name.startswith(("scorebot.app", "scorebot.core"))
    }
    assert not outside, f"{path.name} imports {outside}"


@pytest.mark.parametrize("path", python_files("scorebot/matrix"), ids=lambda p: p.name)
def test_the_matrix_adapter_builds_app_items_and_never_reaches_into_speech(path: Path) -> None:
    used = imports(path)
    assert "speech" not in roots(used)
    assert not {n for n in used if n.startswith(("scorebot.cli", "scorebot.demo"))}


def test_the_app_has_one_consumer_that_the_matrix_adapter_no_longer_keeps() -> None:
    assert not (ROOT / "scorebot/matrix/consumer.py").exists()
    assert not (ROOT / "scorebot/matrix/items.py").exists()
    users = [
        p.relative_to(ROOT).as_posix()
        for p in python_files("scorebot")
        if "scorebot.app.consumer" in imports(p) and "scorebot/app/" not in p.as_posix()
    ]
    assert users == ["scorebot/matrix/run.py"], "one composition root wires the consumer"


@pytest.mark.parametrize(
    "path",
    python_files("scorebot") + python_files("speech"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_vosk_and_sounddevice_are_only_imported_lazily(path: Path) -> None:
    assert not roots(imports(path, top_level_only=True)) & {"vosk", "sounddevice"}


def test_the_core_package_is_importable_without_optional_parts() -> None:
    import scorebot.core.step
    import speech

    assert scorebot.core.step.step and speech.__doc__


@pytest.mark.parametrize(
    ("library", "home"), [("vosk", "recognizer.py"), ("sounddevice", "microphone.py")]
)
def test_each_speech_library_is_imported_by_one_file_only(library: str, home: str) -> None:
    importers = [p.name for p in python_files("speech") if library in roots(imports(p))]
    assert importers == [home]


def test_importing_speech_loads_no_audio_or_engine_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, speech, speech.cli, speech.detector, speech.vocabulary, speech.models; "
        "print(sorted(m for m in ('vosk', 'sounddevice', 'numpy', 'soxr', 'soundfile') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", python_files("scorebot/voice"), ids=lambda p: p.name)
def test_the_voice_source_knows_nothing_of_matrix_or_the_store(path: Path) -> None:
    used = imports(path)
    assert "nio" not in roots(used)
    assert not {n for n in used if n.startswith(("scorebot.matrix", "scorebot.store"))}
