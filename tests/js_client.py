"""Run tests/js/member.mjs: a matrix-js-sdk member with Rust crypto, as Element uses.

`run_js_member` logs a fresh device in, joins the room, waits until the room is known as
encrypted, runs the steps and returns the JSON lines the client printed (see the header of
member.mjs for the steps and the lines).  Node's packages are installed from the lock file
with `npm ci` the first time they are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
MEMBER_SCRIPT = JS_DIR / "member.mjs"

NPM_CI_TIMEOUT = 240.0
"""seconds for one `npm ci` attempt (a cold cache downloads about 10 MB)"""

NPM_CI_ATTEMPTS = 2

EXIT_TIMEOUT = 2
EXIT_DECRYPTION = 3
EXIT_PLAINTEXT = 5

_STDERR_TAIL = 60
"""lines of the client's stderr quoted in errors"""

_install_lock = threading.Lock()
_installed: set[Path] = set()


class JsMemberError(RuntimeError):
    """member.mjs failed: its exit code, its JSON lines and the tail of its stderr."""

    def __init__(
        self, message: str, returncode: int | None, lines: list[dict[str, Any]], stderr: str
    ):
        super().__init__(message)
        self.returncode = returncode
        self.lines = lines
        self.stderr = stderr


def node_executable() -> str | None:
    return shutil.which("node")


JS_TEST_MARKS = [
    pytest.mark.node,
    pytest.mark.synapse,
    pytest.mark.skipif(
        node_executable() is None,
        reason="node (Node.js) is not installed; the matrix-js-sdk member in tests/js needs it",
    ),
    pytest.mark.asyncio(loop_scope="session"),
]
"""what every test with a matrix-js-sdk member is marked with"""


def _pinned_dependencies() -> dict[str, str]:
    package = json.loads((JS_DIR / "package.json").read_text())
    return dict(package.get("dependencies", {}))


def _node_modules_current() -> bool:
    """Whether every direct dependency is installed at the version package.json pins."""
    for name, version in _pinned_dependencies().items():
        manifest = JS_DIR / "node_modules" / name / "package.json"
        try:
            installed = json.loads(manifest.read_text()).get("version")
        except (OSError, ValueError):
            return False
        if installed != version:
            return False
    return True


def _run_bounded(argv: list[str], timeout: float) -> tuple[int | None, str]:
    """Run a command in its own process group; kill the whole group on timeout."""
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    with subprocess.Popen(
        argv,
        cwd=JS_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return None, output
        return process.returncode, output


def ensure_node_modules(timeout: float = NPM_CI_TIMEOUT) -> None:
    """Install tests/js/node_modules from package-lock.json unless it is already current.

    Safe to call from several threads and processes at once (pytest-xdist): a file lock
    serialises the installs and the second caller finds the work done.
    """
    with _install_lock:
        if JS_DIR in _installed:
            return
        npm = shutil.which("npm")
        digest = hashlib.sha256(str(JS_DIR).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"scorebot-npm-ci-{digest}.lock"
        with lock_path.open("w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            if not _node_modules_current():
                if npm is None:
                    raise RuntimeError(
                        f"{JS_DIR / 'node_modules'} is missing or stale and npm is not installed"
                    )
                argv = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
                failures = []
                for attempt in range(1, NPM_CI_ATTEMPTS + 1):
                    returncode, output = _run_bounded(argv, timeout)
                    if returncode == 0 and _node_modules_current():
                        break
                    what = "timed out" if returncode is None else f"exited {returncode}"
                    tail = "\n".join(output.splitlines()[-30:])
                    failures.append(f"attempt {attempt}: `npm ci` in {JS_DIR} {what}\n{tail}")
                else:
                    raise RuntimeError("\n".join(failures))
        _installed.add(JS_DIR)


def _parse_lines(stdout: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        lines.append(parsed if isinstance(parsed, dict) else {"kind": "unparsed", "line": raw})
    return lines


async def run_js_member(  # noqa: PLR0917 (the shape the integration tests call it with)
    homeserver_url: str,
    user_id: str,
    password: str,
    room_id: str,
    steps: Sequence[dict[str, Any]],
    timeout: float = 120.0,  # noqa: ASYNC109 (the client's own deadline, passed to it)
    *,
    log_level: str = "warn",
    check: bool = True,
    logout: bool = True,
    cross_signing: bool = False,
    isolation: str = "all",
) -> list[dict[str, Any]]:
    """Run member.mjs to completion and return its JSON lines, the `result` line last.

    `timeout` is the client's own overall deadline in seconds (it then exits with code 2
    and a result line); this side kills it if it has not exited 15 s after that.  With
    `check`, a non-zero exit raises `JsMemberError` quoting the result and stderr.
    `cross_signing` and `isolation` ("all" or "only_signed", Element's "exclude insecure
    devices") are member.mjs's options of those names.
    """
    config = {
        "homeserver": homeserver_url,
        "user_id": user_id,
        "password": password,
        "room_id": room_id,
        "steps": list(steps),
        "timeout": timeout,
        "log_level": log_level,
        "logout": logout,
        "cross_signing": cross_signing,
        "isolation": isolation,
    }
    returncode, stdout, stderr, killed = await _run_node(
        [str(MEMBER_SCRIPT), "--config", "-"], config, timeout + 15.0
    )
    lines = _parse_lines(stdout.decode(errors="replace"))
    stderr_text = stderr.decode(errors="replace")
    if check and (killed or returncode != 0):
        result = next((line for line in reversed(lines) if line.get("kind") == "result"), None)
        reason = (
            f"killed after {timeout + 15.0:.0f} s"
            if killed
            else (result or {}).get("error", "no result line")
        )
        tail = "\n".join(stderr_text.splitlines()[-_STDERR_TAIL:])
        raise JsMemberError(
            f"member.mjs as {user_id} exited {returncode}: {reason}\n"
            f"--- stdout ---\n{stdout.decode(errors='replace')}--- stderr (tail) ---\n{tail}",
            returncode,
            lines,
            stderr_text,
        )
    return lines


async def _run_node(
    argv: list[str], config: dict[str, Any], deadline: float
) -> tuple[int | None, bytes, bytes, bool]:
    """Run a script in tests/js with `config` as JSON on its standard input:
    (exit code, stdout, stderr, whether it was killed after `deadline` seconds)."""
    node = node_executable()
    if node is None:
        raise RuntimeError("node is not installed")
    await asyncio.to_thread(ensure_node_modules)
    process = await asyncio.create_subprocess_exec(
        node,
        *argv,
        cwd=JS_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    killed = False
    try:
        try:
            stdout, stderr = await asyncio.wait_for(
                process.communicate(json.dumps(config).encode()), deadline
            )
        except TimeoutError:
            killed = True
            process.kill()
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, stdout, stderr, killed


def reply_step(name: str, to: str, sender: str, timeout: float = 30) -> dict[str, Any]:
    """A member.mjs step that waits for `sender`'s m.notice replying to step `to`."""
    return {
        "action": "wait_reply",
        "name": name,
        "to": to,
        "sender": sender,
        "msgtype": "m.notice",
        "timeout": timeout,
    }


def events(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decrypted (or plaintext) events the client received, in order."""
    return [line for line in lines if line.get("kind") == "event"]


def sent(lines: Sequence[dict[str, Any]], step: str) -> dict[str, Any]:
    """The `sent` line of the named step."""
    return next(line for line in lines if line.get("kind") == "sent" and line.get("step") == step)


SECRET_STORAGE_TOOL = JS_DIR / "secret_storage_tool.mjs"


def run_secret_storage_tool(
    requests: Sequence[dict[str, Any]], timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Answers from matrix-js-sdk's own recovery-key and secret-storage code, one per request
    (see the header of secret_storage_tool.mjs)."""
    node = node_executable()
    if node is None:
        raise RuntimeError("node is not installed")
    ensure_node_modules()
    completed = subprocess.run(
        [node, str(SECRET_STORAGE_TOOL)],
        input=json.dumps(list(requests)),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=JS_DIR,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"secret_storage_tool.mjs exited {completed.returncode}: {completed.stderr}"
        )
    answers = json.loads(completed.stdout)
    assert isinstance(answers, list) and len(answers) == len(requests), completed.stdout
    return answers


BOT_RECOVERY_SCRIPT = JS_DIR / "bot_recovery.mjs"


async def run_bot_recovery(
    homeserver_url: str,
    user_id: str,
    password: str,
    recovery_key_text: str,
    timeout: float = 90.0,  # noqa: ASYNC109 (the subprocess's deadline)
) -> dict[str, Any]:
    """Log in as the bot with matrix-js-sdk, unlock secret storage with the recovery key as
    Element does, and return what it found (see the header of bot_recovery.mjs)."""
    config = {
        "homeserver": homeserver_url,
        "user_id": user_id,
        "password": password,
        "recovery_key": recovery_key_text,
    }
    returncode, stdout, stderr, _ = await _run_node([str(BOT_RECOVERY_SCRIPT)], config, timeout)
    lines = _parse_lines(stdout.decode(errors="replace"))
    if returncode != 0 or len(lines) != 1 or "error" in lines[0]:
        tail = "\n".join(stderr.decode(errors="replace").splitlines()[-_STDERR_TAIL:])
        raise RuntimeError(f"bot_recovery.mjs exited {returncode}: {lines}\n{tail}")
    return lines[0]
