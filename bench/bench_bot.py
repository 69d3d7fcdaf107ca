"""End-to-end latency of the running bot through a real Synapse, in an encrypted room.

Run: .venv/bin/python bench/bench_bot.py [--signals 30] [--members 20] [--keep]

Starts a throwaway Synapse on 127.0.0.1, the bot as `python -m scorebot run --config …`
(a subprocess, so only the CLI is relied on), and the members in this process. Measures
(1) "stack" sent by a member until that member has the bot's decrypted reply, one signal at
a time; (2) all members saying "stack" at once, until each has seen the bot answer them,
and how many messages the bot sent for it (it coalesces bursts). Every wait is bounded and
the whole run is cut off after `TOTAL_LIMIT`; Synapse, the bot and the temp folder go away
at the end. All clients share the machine with Synapse and the bot: on 2 cores, read the
parts (send / server / arrival) rather than the absolute total.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message, Reaction
from scorebot.matrix.outbox import COALESCE_WINDOW

TOTAL_LIMIT = 170.0
"""seconds for the whole bench, setup and teardown included"""

BOT_JOIN_WAIT = 60.0
"""seconds for the bot process to log in, sync and accept the invite"""

REPLY_WAIT = 30.0
"""seconds to wait for one answer"""

BURST_WAIT = 60.0
"""seconds for a whole burst to be answered"""

SETTLE = 2.5
"""seconds to keep counting the bot's messages after the burst was answered (> the window)"""

BOT_STOP_GRACE = 10.0
"""seconds between SIGTERM and SIGKILL for the bot process"""

LOG_TAIL = 30

_T = TypeVar("_T")


class BenchError(RuntimeError):
    """The bench could not go on; the message says which step and why."""


@dataclass(slots=True)
class Sample:
    """One "stack" and its answer, in seconds."""

    total: float
    send: float
    """member encrypts and PUTs until the server returned the event id"""
    server: float
    """server timestamp of the member's message until that of the bot's reply"""
    arrival: float
    """the reply's server timestamp until the member had it decrypted"""


@dataclass(slots=True)
class Burst:
    senders: int
    sends_done: float
    """seconds from the start until the last member's send returned"""
    answered: list[float]
    """seconds from the start until each member had seen an answer naming them"""
    notices: int
    edits: int
    reactions: int


@dataclass(slots=True)
class Report:
    setup: dict[str, float] = field(default_factory=dict)
    """step -> seconds"""
    samples: list[Sample] = field(default_factory=list)
    burst: Burst | None = None


# ---------------------------------------------------------------- the bot process


def write_config(workdir: Path, homeserver: str, user_id: str, password: str, fac: str) -> Path:
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
        f'allowed_inviters = ["{fac}"]\n'
        "facilitator_power_level = 50\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@contextlib.asynccontextmanager
async def bot_process(config: Path, log_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m scorebot run --config <config>` until the block exits (SIGTERM, then KILL)."""
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scorebot",
            "run",
            "--config",
            str(config),
            cwd=config.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), BOT_STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


def log_tail(path: Path) -> str:
    if not path.exists():
        return "(no bot log)"
    lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL:]
    return f"--- last lines of {path.name} ---\n" + "\n".join(lines)


async def unless_bot_dies(
    process: asyncio.subprocess.Process, log_path: Path, awaitable: Awaitable[_T], what: str
) -> _T:
    """Await `awaitable`, but fail at once (with the bot's log) if the bot process exits."""
    work = asyncio.ensure_future(awaitable)
    dead = asyncio.ensure_future(process.wait())
    try:
        await asyncio.wait({work, dead}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        dead.cancel()
    if not work.done():
        work.cancel()
        with contextlib.suppress(BaseException):
            await work
        raise BenchError(
            f"the bot exited (code {process.returncode}) while waiting for {what}\n"
            + log_tail(log_path)
        )
    return work.result()


# ---------------------------------------------------------------- measuring


def own_timestamp(member: Member, event_id: str) -> float | None:
    """Seconds: the server timestamp of one of the member's own events, if synced back."""
    for record in reversed(member.records):
        if isinstance(record, Message) and record.event_id == event_id:
            return record.server_timestamp / 1000
    return None


async def one_stack(member: Member, room: str, bot: str) -> Sample:
    started = time.monotonic()
    event_id = await member.send_text(room, "stack")
    sent = time.monotonic()
    sent_wall = time.time()
    reply = await member.wait_reply_to(event_id, sender=bot, timeout=REPLY_WAIT)
    arrived = time.monotonic()
    arrived_wall = time.time()
    stored = own_timestamp(member, event_id) or sent_wall
    reply_stored = reply.server_timestamp / 1000
    return Sample(
        total=arrived - started,
        send=sent - started,
        server=reply_stored - stored,
        arrival=arrived_wall - reply_stored,
    )


async def say_and_wait(member: Member, room: str, text: str, bot: str) -> Message:
    event_id = await member.send_text(room, text)
    return await member.wait_reply_to(event_id, sender=bot, timeout=REPLY_WAIT)


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


async def burst(members: Sequence[Member], observer: Member, room: str, bot: str) -> Burst:
    """Everyone says "stack" at once; each waits for a bot message that names them."""
    started = time.monotonic()
    started_ms = time.time() * 1000

    async def send(member: Member) -> float:
        await member.send_text(room, "stack")
        return time.monotonic() - started

    async def answered(member: Member) -> float:
        name = localpart(member.user_id)
        await member.wait_message(
            lambda m: (
                m.sender == bot
                and m.replaces is None
                and m.server_timestamp >= started_ms - 50
                and name in m.body
            ),
            timeout=BURST_WAIT,
        )
        return time.monotonic() - started

    waits = [asyncio.ensure_future(answered(member)) for member in members]
    try:
        sends = await asyncio.gather(*(send(member) for member in members))
        answers = list(await asyncio.gather(*waits))
    finally:
        for wait in waits:
            wait.cancel()
    await asyncio.sleep(SETTLE)
    notices = edits = reactions = 0
    for record in observer.records:
        if record.sender != bot or record.server_timestamp < started_ms - 50:
            continue
        if isinstance(record, Message):
            if record.replaces is None:
                notices += 1
            else:
                edits += 1
        elif isinstance(record, Reaction):
            reactions += 1
    return Burst(len(members), max(sends), answers, notices, edits, reactions)


# ---------------------------------------------------------------- the run


async def bench(workdir: Path, signals: int, people: int, report: Report) -> None:
    clock = time.monotonic
    mark = clock()

    def lap(step: str) -> None:
        nonlocal mark
        report.setup[step] = clock() - mark
        mark = clock()

    async with contextlib.AsyncExitStack() as stack:
        homeserver = await stack.enter_async_context(Homeserver.start(workdir / "synapse"))
        lap("synapse started")
        names = ["scorebot", "fran", *(f"member{n:02d}" for n in range(people))]
        passwords = {name: secrets.token_urlsafe(16) for name in names}
        ids = dict(
            zip(
                names,
                await asyncio.gather(*(homeserver.register(n, passwords[n]) for n in names)),
                strict=True,
            )
        )
        bot = ids["scorebot"]
        config = write_config(workdir, homeserver.base_url, bot, passwords["scorebot"], ids["fran"])
        log_path = workdir / "bot.log"
        process = await stack.enter_async_context(bot_process(config, log_path))
        lap(f"{len(names)} users registered, bot process started")

        async def login(name: str) -> Member:
            member = await Member.login(
                homeserver.base_url, ids[name], passwords[name], workdir / "members" / name
            )
            stack.push_async_callback(member.close)
            return member

        fran, *members = await asyncio.gather(*(login(n) for n in names[1:]))
        lap(f"{len(names) - 1} members logged in")

        room = await fran.create_room("Bench", invite=[bot, *(m.user_id for m in members)])
        await asyncio.gather(*(member.join(room) for member in members))
        await unless_bot_dies(
            process,
            log_path,
            fran.wait_member(room, bot, timeout=BOT_JOIN_WAIT),
            "the bot to join the room",
        )
        for member in members:
            await fran.wait_member(room, member.user_id, timeout=REPLY_WAIT)
        lap("encrypted room created, everyone joined")

        # Each member's first message sets up Olm sessions with every device in the room;
        # plain chat (which the bot does not answer) keeps that out of the measurements.
        await asyncio.gather(*(member.send_text(room, "hello") for member in members))
        await unless_bot_dies(
            process, log_path, say_and_wait(fran, room, "start meeting Bench", bot), "warm-up"
        )
        lap("warm-up (first messages, meeting started)")

        for index in range(signals):
            if index and index % len(members) == 0:
                await say_and_wait(fran, room, "clear", bot)
            member = members[index % len(members)]
            report.samples.append(
                await unless_bot_dies(
                    process, log_path, one_stack(member, room, bot), f"answer {index + 1}"
                )
            )
        lap(f"{signals} signals one at a time")

        await say_and_wait(fran, room, "clear", bot)
        await asyncio.sleep(COALESCE_WINDOW + 1.0)  # nothing of the above still in flight
        report.burst = await unless_bot_dies(
            process, log_path, burst(members, fran, room, bot), "the burst"
        )
        lap("burst")
        if process.returncode is not None:
            raise BenchError(f"the bot exited (code {process.returncode})\n" + log_tail(log_path))
    lap("teardown")


# ---------------------------------------------------------------- the report


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_report(report: Report, people: int, say: Callable[[str], None] = print) -> None:
    say(
        f"end to end through Synapse on 127.0.0.1, encrypted room: the bot, a facilitator, "
        f"{people} members; the bot gathers replies for {COALESCE_WINDOW:.1f} s before sending"
    )
    say(f"{'measure':<44} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")

    def row(label: str, values: Sequence[float]) -> None:
        if not values:
            say(f"{label:<44} {0:>4} {'-':>8} {'-':>8} {'-':>8}")
            return
        say(
            f"{label:<44} {len(values):>4} {percentile(values, 0.5) * 1e3:>8.0f} "
            f"{percentile(values, 0.95) * 1e3:>8.0f} {max(values) * 1e3:>8.0f}"
        )

    samples = report.samples
    row('"stack" -> decrypted reply (total)', [s.total for s in samples])
    row("  member sends (encrypt + PUT)", [s.send for s in samples])
    row("  server: stack stored -> reply stored", [s.server for s in samples])
    row("  reply stored -> member has it decrypted", [s.arrival for s in samples])
    burst_ = report.burst
    if burst_ is not None:
        say(f'burst: {burst_.senders} members send "stack" at once')
        row("  all sends returned", [burst_.sends_done])
        row("  each member sees an answer naming them", burst_.answered)
        row("  all answered", [max(burst_.answered)])
        say(
            f"bot messages for the burst: {burst_.notices} new notice(s), {burst_.edits} "
            f"edit(s) of the stack message, {burst_.reactions} reaction(s)"
        )
    if samples:
        server = statistics.median(s.server for s in samples)
        say(
            f"of the server part's median {server * 1e3:.0f} ms, {COALESCE_WINDOW * 1e3:.0f} ms "
            "is the coalescing window (by design)"
        )
    say("setup and phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.setup.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=30, help="one-at-a-time signals")
    parser.add_argument("--members", type=int, default=20, help="members (the burst size)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    # nio warns about every Olm session it sets up.
    logging.getLogger("nio").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="scorebot-bench-bot-"))
    report = Report()
    started = time.monotonic()

    async def limited() -> None:
        async with asyncio.timeout(TOTAL_LIMIT):
            await bench(workdir, args.signals, args.members, report)

    code = 0
    try:
        asyncio.run(limited())
    except TimeoutError:
        print(f"bench_bot: cut off after {TOTAL_LIMIT:.0f} s; partial results below.")
        print(log_tail(workdir / "bot.log"), file=sys.stderr)
        code = 1
    except BenchError as error:
        print(f"bench_bot: {error}", file=sys.stderr)
        code = 1
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print_report(report, args.members)
    print(f"(took {time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
