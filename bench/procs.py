"""Bot processes for the end-to-end benchmarks, and what /proc says about processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")

STOP_GRACE = 10.0
"""seconds between SIGTERM and SIGKILL for a bot process"""

LOG_TAIL = 30

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ROOT = Path(__file__).resolve().parent.parent
"""the repository: bots started from here import `bench` and `scorebot` from it"""


class BenchError(RuntimeError):
    """The bench could not go on; the message says which step and why."""


# ---------------------------------------------------------------- /proc of another process


@dataclass(frozen=True, slots=True)
class ProcSample:
    cpu: float
    """user + system CPU seconds so far"""
    rss: int
    """resident bytes now"""
    peak_rss: int
    """the highest resident bytes so far (VmHWM)"""


def proc_sample(pid: int) -> ProcSample | None:
    """CPU and memory of a running process from /proc; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces; the fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return ProcSample(cpu, values.get("VmRSS", 0), values.get("VmHWM", 0))


def child_pid(command_part: str) -> int | None:
    """The pid of this process's child whose command line contains `command_part`."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] != me:
                continue
            if command_part in (entry / "cmdline").read_bytes().decode(errors="replace"):
                return int(entry.name)
    return None


@dataclass(slots=True)
class Usage:
    """CPU and peak memory of some processes over a stretch of time."""

    pids: dict[str, int]
    start: dict[str, float] = field(default_factory=dict)
    started_at: float = 0.0

    def begin(self) -> None:
        self.started_at = time.monotonic()
        self.start = {
            name: sample.cpu
            for name, pid in self.pids.items()
            if (sample := proc_sample(pid)) is not None
        }

    def cpu_share(self) -> dict[str, float]:
        """Process name -> CPU seconds per wall second since `begin` (1.0 = one core)."""
        elapsed = max(time.monotonic() - self.started_at, 1e-9)
        shares = {}
        for name, pid in self.pids.items():
            sample = proc_sample(pid)
            if sample is not None and name in self.start:
                shares[name] = (sample.cpu - self.start[name]) / elapsed
        return shares


# ---------------------------------------------------------------- the bot processes


def write_bot_config(workdir: Path, homeserver: str, user_id: str, password: str) -> Path:
    """A scorebot.toml as a user would write it; everyone on this server may invite the bot."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "scorebot.toml"
    path.write_text(
        "[matrix]\n"
        f'homeserver = "{homeserver}"\n'
        f'user_id = "{user_id}"\n'
        f'password = "{password}"\n'
        'device_name = "scorebot bench"\n\n'
        "[storage]\n"
        'data_dir = "./bot"\n\n'
        "[bot]\n"
        'allowed_inviters = [":localhost"]\n'
        "facilitator_power_level = 50\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def scorebot_command(config: Path) -> list[str]:
    """What a user runs (scripts/scorebot run --config ...), minus the installer."""
    return [sys.executable, "-m", "scorebot", "run", "--config", str(config)]


def echo_command(homeserver: str, user_id: str, password: str, store: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.echo_bot",
        # name=value: a generated password may start with "-", which argparse would
        # otherwise take for an option of its own.
        f"--homeserver={homeserver}",
        f"--user={user_id}",
        f"--password={password}",
        f"--store={store}",
    ]


@dataclass(slots=True)
class BotProcess:
    """A bot running as its own process, with its output in `log`."""

    process: asyncio.subprocess.Process
    log: Path
    started: float
    """time.monotonic() just before the process was spawned"""
    log_offset: int = 0
    """the log's size before the spawn: earlier runs of the same bot wrote the rest"""

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self) -> str:
        if not self.log.exists():
            return "(no log)"
        lines = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        return f"--- last lines of {self.log} ---\n" + "\n".join(lines)

    def log_has(self, text: str) -> bool:
        if not self.log.exists():
            return False
        with self.log.open("rb") as file:
            file.seek(self.log_offset)
            return text in file.read().decode(errors="replace")

    async def wait_log(self, text: str, timeout: float) -> float:  # noqa: ASYNC109
        """Seconds from spawn until `text` appeared in the log (polled every 10 ms)."""
        async with asyncio.timeout(timeout):
            while not self.log_has(text):
                if self.process.returncode is not None:
                    raise BenchError(f"the bot exited before logging {text!r}\n" + self.tail())
                await asyncio.sleep(0.01)
        return time.monotonic() - self.started

    async def log_time(self, task: asyncio.Future[float], grace: float) -> float:
        """`task` (a `wait_log`) if it ends within `grace` seconds, else NaN: the bench
        does not fail because a log line was reworded."""
        try:
            return await asyncio.wait_for(task, grace)
        except TimeoutError:
            return float("nan")

    async def unless_dead(self, awaitable: Awaitable[_T], what: str) -> _T:
        """Await `awaitable`, but fail at once (with the log) if the process exits."""
        work = asyncio.ensure_future(awaitable)
        dead = asyncio.ensure_future(self.process.wait())
        try:
            await asyncio.wait({work, dead}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dead.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            raise BenchError(
                f"the bot exited (code {self.process.returncode}) while waiting for {what}\n"
                + self.tail()
            )
        return work.result()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after `STOP_GRACE`."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def running(command: Sequence[str], cwd: Path, log: Path) -> AsyncIterator[BotProcess]:
    """Run `command` (a bot) until the block exits, then stop it."""
    await asyncio.to_thread(cwd.mkdir, parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log_file = await asyncio.to_thread(log.open, "ab")
    with log_file:
        offset = log_file.tell()
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
    bot = BotProcess(process, log, started, offset)
    try:
        yield bot
    finally:
        await bot.stop()
