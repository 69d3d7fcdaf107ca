"""What the end-to-end benchmarks share: Synapse and accounts, tables, the main loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.answers import TimedMember
from bench.procs import (
    BenchError,
    BotProcess,
    child_pid,
    echo_command,
    running,
    scorebot_command,
    write_bot_config,
)
from scorebot.demo.homeserver import Homeserver

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
            ).rstrip()
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
    except (BenchError, TimeoutError) as error:
        print(f"bench.{name}: {error or 'a wait ran out'}; partial results below", file=sys.stderr)
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
