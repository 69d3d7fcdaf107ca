"""What the end-to-end benchmarks share: Synapse, accounts, bot processes, /proc, tables."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message, Record

_T = TypeVar("_T")

STOP_GRACE = 10.0
"""seconds between SIGTERM and SIGKILL for a bot process"""

LOG_TAIL = 30

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ROOT = Path(__file__).resolve().parent.parent
"""the repository: bots started from here import `bench` and `scorebot` from it"""


class BenchError(RuntimeError):
    """The bench could not go on; the message says which step and why."""


# ---------------------------------------------------------------- statistics and tables


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns right-aligned (the first left-aligned), wide enough for every cell."""
    cells = [[str(h) for h in header], *([_cell(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        first, *rest = row
        lines.append(
            "  ".join(
                [
                    first.ljust(widths[0]),
                    *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)),
                ]
            )
        )
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def machine_line() -> str:
    load = os.getloadavg()[0]
    return (
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.1f} "
        "at the start (shared machine: compare ratios, not absolute numbers)"
    )


async def until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:  # noqa: ASYNC109
    """Wait until `check()` holds, looking every `poll` seconds (for checks too costly to run
    on every event; what is timed is noted as events arrive, not here)."""
    try:
        async with asyncio.timeout(timeout):
            while not check():  # noqa: ASYNC110
                await asyncio.sleep(poll)
    except TimeoutError:
        raise TimeoutError(f"waited {timeout:.0f} s for {what}") from None


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
        "--homeserver",
        homeserver,
        "--user",
        user_id,
        "--password",
        password,
        "--store",
        str(store),
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


# ---------------------------------------------------------------- Synapse and accounts


@dataclass(slots=True)
class World:
    """One local Synapse, the accounts registered on it, and logged-in members."""

    homeserver: Homeserver
    workdir: Path
    stack: contextlib.AsyncExitStack
    passwords: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    """localpart -> user id"""

    async def register(self, names: Sequence[str], parallel: int = 8) -> None:
        limit = asyncio.Semaphore(parallel)

        async def one(name: str) -> None:
            async with limit:
                self.passwords[name] = secrets.token_urlsafe(16)
                self.ids[name] = await self.homeserver.register(name, self.passwords[name])

        await asyncio.gather(*(one(name) for name in names))

    async def login(self, names: Sequence[str], parallel: int = 4) -> list[TimedMember]:
        """Log each in as a new E2EE device (syncing until the bench ends)."""
        limit = asyncio.Semaphore(parallel)

        async def one(name: str) -> TimedMember:
            async with limit:
                member = await TimedMember.login(
                    self.homeserver.base_url,
                    self.ids[name],
                    self.passwords[name],
                    self.workdir / "members" / name,
                )
            self.stack.push_async_callback(member.close)
            assert isinstance(member, TimedMember)  # login builds `cls`
            return member

        return list(await asyncio.gather(*(one(name) for name in names)))

    def scorebot_config(self, name: str, folder: str | None = None) -> Path:
        return write_bot_config(
            self.workdir / (folder or name),
            self.homeserver.base_url,
            self.ids[name],
            self.passwords[name],
        )

    async def start_scorebot(self, name: str, folder: str | None = None) -> BotProcess:
        config = self.scorebot_config(name, folder)
        return await self.stack.enter_async_context(
            running(scorebot_command(config), config.parent, config.parent / "bot.log")
        )

    async def start_echo(self, name: str) -> BotProcess:
        folder = self.workdir / name
        command = echo_command(
            self.homeserver.base_url, self.ids[name], self.passwords[name], folder / "store"
        )
        return await self.stack.enter_async_context(running(command, folder, folder / "bot.log"))

    def synapse_pid(self) -> int | None:
        return child_pid("synapse.app.homeserver")


@contextlib.asynccontextmanager
async def world(workdir: Path) -> AsyncIterator[World]:
    """A fresh Synapse (rate limits off, see scorebot.demo.homeserver) in `workdir`."""
    async with contextlib.AsyncExitStack() as stack:
        homeserver = await stack.enter_async_context(Homeserver.start(workdir / "synapse"))
        yield World(homeserver, workdir, stack)


async def room_with(
    creator: Member, others: Sequence[Member], bots: Sequence[str], name: str
) -> str:
    """An encrypted room: `creator` invites everyone; members join; bots join by themselves."""
    room = await creator.create_room(name, invite=[*bots, *(m.user_id for m in others)])
    await asyncio.gather(*(member.join(room) for member in others))
    return room


# ---------------------------------------------------------------- replies


class TimedMember(Member):
    """A member that also notes when each event reached it (decrypted), monotonic seconds."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.arrived: dict[str, float] = {}

    def _record(self, record: Record) -> None:
        self.arrived.setdefault(record.event_id, time.monotonic())
        super()._record(record)


@dataclass(frozen=True, slots=True)
class Sent:
    """A signal a member sent, for matching it to the bot's answer."""

    room: str
    event_id: str
    sender: str
    """user id"""
    started: float
    """time.monotonic() just before sending"""


@dataclass(frozen=True, slots=True)
class Answer:
    sent: Sent
    reply: Message | None
    """the bot's message that answers it: threaded to it ("threaded"); else the first
    later one, threaded to another signal (a coalesced burst) or to nothing (scorebot does
    not thread answers to reactions), that names its sender ("named"); else the first later
    one threaded to another signal ("burst": the sender cannot tell it is theirs, and the
    bench cannot check it is in there); else None ("none")"""
    how: str
    latency: float
    """seconds from `sent.started` until the observer had the answer decrypted"""
    server: float
    """seconds between the server timestamps of the signal and of the answer"""
    duplicates: int
    """further messages threaded to the signal with the same body as the first (posted twice)"""
    extra: int
    """further messages threaded to the signal with other bodies"""


def match_answers(observer: TimedMember, bot: str, sent: Sequence[Sent]) -> list[Answer]:
    """Find the bot's answer to each signal in what `observer` (in every room) received."""
    stamps = {record.event_id: record.server_timestamp for record in observer.records}
    ours = {s.event_id for s in sent}
    by_room: dict[str, list[Message]] = {}
    threaded: dict[str, list[Message]] = {}
    for record in observer.records:
        if isinstance(record, Message) and record.sender == bot and record.replaces is None:
            by_room.setdefault(record.room_id, []).append(record)
            if record.in_reply_to is not None:
                threaded.setdefault(record.in_reply_to, []).append(record)
    answers = []
    nan = float("nan")
    for s in sent:
        replies = threaded.get(s.event_id, [])
        reply: Message | None = replies[0] if replies else None
        how = "threaded" if reply is not None else "none"
        stamp = stamps.get(s.event_id)
        if reply is None and stamp is not None:
            name = localpart(s.sender)
            reply = next(
                (
                    m
                    for m in by_room.get(s.room, [])
                    if m.server_timestamp >= stamp
                    and (m.in_reply_to is None or m.in_reply_to in ours)
                    and name in m.body
                ),
                None,
            )
            how = "named" if reply is not None else "none"
            if reply is None:
                reply = next(
                    (
                        m
                        for m in by_room.get(s.room, [])
                        if m.server_timestamp >= stamp and m.in_reply_to in ours
                    ),
                    None,
                )
                how = "burst" if reply is not None else "none"
        latency = server = nan
        if reply is not None:
            latency = observer.arrived.get(reply.event_id, nan) - s.started
            if stamp is not None:
                server = (reply.server_timestamp - stamp) / 1000
        first_body = replies[0].body if replies else ""
        duplicates = sum(1 for m in replies[1:] if m.body == first_body)
        answers.append(
            Answer(
                s,
                reply,
                how,
                latency,
                server,
                duplicates,
                len(replies) - 1 - duplicates if replies else 0,
            )
        )
    return answers


def replies_from(member: Member, bot: str, room: str) -> list[Message]:
    """The bot's new messages (not edits) in a room, as `member` has them, in sync order."""
    return [
        record
        for record in member.records
        if isinstance(record, Message)
        and record.room_id == room
        and record.sender == bot
        and record.replaces is None
    ]


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def wall_to_monotonic(wall: float) -> float:
    """A time.time() value on the time.monotonic() clock."""
    return time.monotonic() - (time.time() - wall)


Say = Callable[[str], None]


def lapper(phases: dict[str, float]) -> Say:
    """`lap("what")` records the seconds since the previous lap under "what"."""
    mark = time.monotonic()

    def lap(what: str) -> None:
        nonlocal mark
        phases[what] = time.monotonic() - mark
        mark = time.monotonic()
        print(f"[{what}: {phases[what]:.1f} s]", file=sys.stderr, flush=True)  # progress

    return lap


def phases_line(phases: dict[str, float]) -> str:
    return "phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items())


def run_main(
    name: str, keep: bool, work: Callable[[World], Awaitable[None]], report: Callable[[], bool]
) -> int:
    """Run `work` against a fresh Synapse in a temp folder, then print the report.

    Returns the exit code: 1 if the bench could not finish or `report` says a must (nothing
    lost or posted twice) failed. Targets not met are printed, not turned into a code.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    # nio warns about every Olm session it sets up, members about every late decryption.
    logging.getLogger("nio").setLevel(logging.ERROR)
    logging.getLogger("scorebot.demo.member").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix=f"scorebot-bench-{name}-"))
    print(machine_line())
    started = time.monotonic()

    async def go() -> None:
        async with world(workdir) as w:
            await work(w)

    code = 0
    try:
        asyncio.run(go())
    except BenchError as error:
        print(f"bench.{name}: {error}", file=sys.stderr)
        code = 1
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not report():
        code = 1
    print(f"(took {time.monotonic() - started:.0f} s)")
    return code
