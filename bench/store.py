"""What a signal costs through `apply_signal` on the memory store and on the real SQLite store.

Run: .venv/bin/python -m bench.store [--quick] [--dir DIR] [--profile]

Every table compares stores within one run: on a shared machine read the ratio columns
(SQLite over memory), not the absolute numbers. Each timed case runs on a fresh store
`--repeats` times and reports the median of each statistic. Memory is measured in a
fresh child process per case, so one case's garbage does not count against the next.
`--dir` chooses where the SQLite files go (default: the temp dir); fsync cost depends on it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from scorebot.app import apply_signal
from scorebot.core.minutes import records
from scorebot.core.model import (
    Join,
    Leave,
    Meeting,
    Next,
    Oops,
    Ouch,
    Person,
    Resolve,
    Signal,
    Source,
    StartMeeting,
    Status,
)
from scorebot.core.step import step
from scorebot.store.codec import encode_meeting
from scorebot.store.memory import MemoryStore
from scorebot.store.protocol import Store
from scorebot.store.sqlite import SqliteStore

ROOM = "!weekly:example.org"
FACILITATOR = Person("@fran:example.org", "Fran")

SIZES: tuple[tuple[int, int], ...] = ((10, 200), (50, 2000))
"""(people in the meeting, signals sent)"""

MIX: tuple[tuple[str, float], ...] = (
    ("join", 0.30),
    ("next", 0.23),
    ("status", 0.23),
    ("leave", 0.08),
    ("ouch", 0.06),
    ("oops", 0.05),
    ("resolved", 0.05),
)
"""share of each kind of signal in a meeting (the facilitator sends the nexts, and marks
a pin resolved once its harm was discussed: open pins do not pile up)"""

STORES = ("memory", "sqlite FULL", "sqlite NORMAL")

SEEN_QUERY = "SELECT 1 FROM processed WHERE key = ?"
"""the lookup `SqliteStore.seen` makes (copied here to ask SQLite for its query plan)"""


# ---------------------------------------------------------------- the meeting


def event_id(seed: int, index: int) -> str:
    """A Matrix-shaped event id ("$" and 43 url-safe base64 characters), for realistic keys."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def meeting_signals(people: int, count: int, seed: int = 1) -> list[Signal]:
    """A plausible meeting: people join when off the stack, leave when on it, and so on.

    The core is run alongside to choose who does what, so joins and leaves mostly succeed
    as they would in a real meeting (mistakes happen too: a cue can find nothing to do).
    """
    rng = random.Random(seed)
    crowd = [Person(f"@person{n}:example.org", f"Person {n}") for n in range(people)]
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    meeting = Meeting(ROOM)
    at = 1_700_000_000.0
    signals: list[Signal] = []

    def send(sender: Person, cue: object, facilitator: bool = False) -> None:
        nonlocal meeting
        signal = Signal(
            event_id(seed, len(signals)),
            sender,
            cue,  # type: ignore[arg-type]
            Source.CHAT,
            at,
            facilitator,
        )
        meeting, _ = step(meeting, signal)
        signals.append(signal)

    send(FACILITATOR, StartMeeting("Weekly"), facilitator=True)
    while len(signals) < count:
        at += rng.uniform(1.0, 30.0)
        waiting = {entry.person.id for entry in meeting.stack}
        kind = rng.choices(kinds, weights)[0]
        if kind == "leave" and not waiting:
            kind = "join"
        match kind:
            case "join":
                off = [p for p in crowd if p.id not in waiting] or crowd
                send(rng.choice(off), Join())
            case "leave":
                send(rng.choice([p for p in crowd if p.id in waiting]), Leave())
            case "next":
                send(FACILITATOR, Next(), facilitator=True)
            case "status":
                send(rng.choice(crowd), Status())
            case "ouch":
                send(rng.choice(crowd), Ouch())
            case "oops":
                turn = meeting.current_turn
                send(turn.person if turn is not None else rng.choice(crowd), Oops())
            case "resolved":
                send(FACILITATOR, Resolve(), facilitator=True)
    return signals


# ---------------------------------------------------------------- stores


@contextlib.asynccontextmanager
async def opened(kind: str, folder: Path) -> AsyncIterator[tuple[Store, Path | None]]:
    """A fresh store of `kind` and its database file (None for memory)."""
    if kind == "memory":
        yield MemoryStore(), None
        return
    path = Path(tempfile.mkdtemp(prefix="bench-store-", dir=folder)) / "scorebot.db"
    try:
        store = await SqliteStore.open(path)
        if kind == "sqlite NORMAL":
            store = await _with_synchronous_normal(store, path)
        try:
            yield store, path
        finally:
            await store.close()
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


async def _with_synchronous_normal(store: SqliteStore, path: Path) -> SqliteStore:
    """The same file on a connection set up like `SqliteStore.open` does, but NORMAL.

    The store offers no way to choose `synchronous`, and its connection is private, so
    `open` creates and migrates the file and the bench then hands the public constructor
    a connection of its own. If `open` gains settings, mirror them here.
    """
    await store.close()
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA busy_timeout = 5000")
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA foreign_keys = ON")
    rows = list(await db.execute_fetchall("PRAGMA synchronous"))
    if rows[0][0] != 1:
        raise RuntimeError(f"could not set synchronous = NORMAL (got {rows[0][0]})")
    return SqliteStore(db)


def disk_bytes(path: Path) -> int:
    """The database file plus its WAL and shared-memory index, as they are now."""
    return sum(
        candidate.stat().st_size
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        if candidate.exists()
    )


# ---------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Timing:
    per_second: float
    p50: float
    p95: float
    p99: float
    """milliseconds"""
    early: float
    late: float
    """milliseconds: p50 of the first and of the last tenth of the meeting's signals"""


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def time_signals(store: Store, signals: Sequence[Signal]) -> list[float]:
    """Seconds each `apply_signal` took, in order."""
    clock = time.perf_counter
    latencies = []
    for signal in signals:
        start = clock()
        await apply_signal(store, signal, ROOM)
        latencies.append(clock() - start)
    return latencies


def summarize(runs: Sequence[Sequence[float]]) -> Timing:
    """The median over repeats of each statistic."""
    rates, p50s, p95s, p99s, earlies, lates = [], [], [], [], [], []
    for latencies in runs:
        ordered = sorted(latencies)
        tenth = max(1, len(latencies) // 10)
        rates.append(len(ordered) / sum(ordered))
        p50s.append(percentile(ordered, 0.50) * 1e3)
        p95s.append(percentile(ordered, 0.95) * 1e3)
        p99s.append(percentile(ordered, 0.99) * 1e3)
        earlies.append(statistics.median(latencies[:tenth]) * 1e3)
        lates.append(statistics.median(latencies[-tenth:]) * 1e3)
    return Timing(
        *(statistics.median(values) for values in (rates, p50s, p95s, p99s, earlies, lates))
    )


async def throughput(folder: Path, repeats: int) -> list[tuple[str, int, int, Timing]]:
    rows = []
    for people, count in SIZES:
        signals = meeting_signals(people, count)
        for kind in STORES:
            runs = []
            for _ in range(repeats):
                async with opened(kind, folder) as (store, _):
                    runs.append(await time_signals(store, signals))
            rows.append((kind, people, count, summarize(runs)))
    return rows


async def replay_cost(folder: Path, repeats: int) -> list[tuple[str, int, float]]:
    """Microseconds to apply a key that was already applied (the median over all keys)."""
    rows = []
    for people, count in SIZES:
        signals = meeting_signals(people, count)
        for kind in ("memory", "sqlite FULL"):
            medians = []
            async with opened(kind, folder) as (store, _):
                await time_signals(store, signals)
                for _ in range(repeats):
                    medians.append(statistics.median(await time_signals(store, signals)))
            rows.append((kind, count, min(medians) * 1e6))
    return rows


def seen_query_plan(signals: Sequence[Signal], folder: Path) -> str:
    """How SQLite answers the replay check on a real file (run outside any event loop)."""

    async def build() -> Path:
        path = Path(tempfile.mkdtemp(prefix="bench-plan-", dir=folder)) / "scorebot.db"
        store = await SqliteStore.open(path)
        try:
            await time_signals(store, signals)
        finally:
            await store.close()
        return path

    path = asyncio.run(build())
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            rows = db.execute("EXPLAIN QUERY PLAN " + SEEN_QUERY, ("$x",)).fetchall()
        return "; ".join(str(row[-1]) for row in rows)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


# ---------------------------------------------------------------- where the time goes


@dataclass(frozen=True, slots=True)
class Phases:
    seen: float
    load: float
    step: float
    apply: float
    round_trip: float
    """milliseconds, medians over the signals"""
    state_bytes: int
    """the meeting snapshot the SQLite store rewrites on every signal, at the end"""
    written_bytes: int
    """all the snapshots written over the meeting, added up"""


async def phases(folder: Path, people: int, count: int) -> Phases:
    """`apply_signal`'s steps timed one by one through the store's public methods."""
    signals = meeting_signals(people, count)
    clock = time.perf_counter
    seen, load, stepping, apply = [], [], [], []
    round_trips = []
    written = 0
    async with opened("sqlite FULL", folder) as (store, _):
        meeting = Meeting(ROOM)
        for signal in signals:
            t0 = clock()
            await store.seen(signal.key)
            t1 = clock()
            before = await store.load(ROOM) or Meeting(ROOM)
            t2 = clock()
            after, events = step(before, signal)
            t3 = clock()
            await store.apply(signal.key, before, after, records(events, signal.at))
            t4 = clock()
            await store.get_value("bench")
            t5 = clock()
            seen.append(t1 - t0)
            load.append(t2 - t1)
            stepping.append(t3 - t2)
            apply.append(t4 - t3)
            round_trips.append(t5 - t4)
            meeting = after
            written += len(encode_meeting(after).encode())
    return Phases(
        statistics.median(seen) * 1e3,
        statistics.median(load) * 1e3,
        statistics.median(stepping) * 1e3,
        statistics.median(apply) * 1e3,
        statistics.median(round_trips) * 1e3,
        len(encode_meeting(meeting).encode()),
        written,
    )


def profile(folder: Path) -> str:
    """cProfile of the event loop thread in the big SQLite case, by own time (top 15).

    aiosqlite runs SQLite on its own thread, which cProfile does not see: that time shows
    here as the loop waiting in `epoll.poll`.
    """
    people, count = SIZES[-1]
    signals = meeting_signals(people, count)

    async def run() -> None:
        async with opened("sqlite FULL", folder) as (store, _):
            await time_signals(store, signals)

    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(run())
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


# ---------------------------------------------------------------- memory and disk (child)


def rss_bytes() -> int:
    """The resident set now (Linux); elsewhere the peak so far, from getrusage."""
    with contextlib.suppress(OSError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def written_bytes() -> int:
    """Bytes this process has handed to write()/pwrite() so far, all threads (aiosqlite's
    too): SQLite's WAL appends and checkpoints into the database file. Linux only."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


async def measure_footprint(kind: str, people: int, count: int, folder: Path) -> dict[str, int]:
    """In a fresh process: RSS growth, Python heap kept, and bytes on disk."""
    signals = meeting_signals(people, count)
    result: dict[str, int] = {}
    # Warm up imports, the codec and aiosqlite's thread so they do not count as growth.
    async with opened(kind, folder) as (store, _):
        await time_signals(store, meeting_signals(3, 20, seed=2))
    gc.collect()
    rss_before = rss_bytes()
    async with opened(kind, folder) as (store, path):
        written = [written_bytes()]
        for signal in signals:
            await apply_signal(store, signal, ROOM)
            written.append(written_bytes())
        gc.collect()
        result["rss"] = rss_bytes() - rss_before
        if path is not None:
            tenth = max(1, count // 10)
            result["written"] = written[-1] - written[0]
            result["written_first"] = (written[tenth] - written[0]) // tenth
            result["written_last"] = (written[-1] - written[-1 - tenth]) // tenth
        if path is not None:
            result["disk_open"] = disk_bytes(path)
            await store.close()  # the last connection checkpoints and removes the WAL
            result["disk_closed"] = disk_bytes(path)
    tracemalloc.start()
    async with opened(kind, folder) as (store, path):
        baseline = tracemalloc.get_traced_memory()[0]
        await time_signals(store, signals)
        result["heap"] = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    return result


def footprints(folder: Path) -> list[tuple[str, int, int, dict[str, int]]]:
    rows = []
    for people, count in SIZES:
        for kind in STORES:
            output = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.store",
                    "--child-footprint",
                    kind,
                    str(people),
                    str(count),
                    "--dir",
                    str(folder),
                ],
                check=True,
                cwd=Path(__file__).resolve().parent.parent,
                capture_output=True,
                text=True,
                timeout=300,
            ).stdout
            rows.append((kind, people, count, json.loads(output)))
    return rows


# ---------------------------------------------------------------- the report


def print_tables(
    timings: list[tuple[str, int, int, Timing]],
    replays: list[tuple[str, int, float]],
    plan: str,
    sizes: list[tuple[str, int, int, dict[str, int]]],
    breakdown: list[tuple[int, int, Phases]],
) -> None:
    say = print
    say("apply_signal, one signal after another (median of repeats)")
    say(
        f"{'store':<14} {'people':>6} {'signals':>7} {'signals/s':>10} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'ratio':>7} {'first 10%':>10} {'last 10%':>9}"
    )
    memory_rate = {(p, n): t.per_second for kind, p, n, t in timings if kind == "memory"}
    for kind, people, count, timing in timings:
        ratio = memory_rate[(people, count)] / timing.per_second
        say(
            f"{kind:<14} {people:>6} {count:>7} {timing.per_second:>10.0f} {timing.p50:>8.3f} "
            f"{timing.p95:>8.3f} {timing.p99:>8.3f} {ratio:>7.1f} {timing.early:>10.3f} "
            f"{timing.late:>9.3f}"
        )
    say(
        "ratio: mean time per signal over the memory store's, same size;\n"
        "first/last 10%: p50 in ms of the meeting's first and last tenth of signals\n"
    )

    say("replay: apply_signal on a key already applied (median over all keys, best repeat)")
    say(f"{'store':<14} {'keys stored':>11} {'µs per replay':>14} {'ratio':>7}")
    memory_replay = {n: micros for kind, n, micros in replays if kind == "memory"}
    for kind, count, micros in replays:
        say(f"{kind:<14} {count:>11} {micros:>14.1f} {micros / memory_replay[count]:>7.1f}")
    say(f"SQLite's plan for the replay check: {plan}\n")

    say("bytes written per signal (write() calls of the process: WAL appends, checkpoints)")
    say(
        f"{'store':<14} {'signals':>7} {'written KiB':>12} {'B/signal':>9} {'first 10%':>10} "
        f"{'last 10%':>9} {'last/first':>10}"
    )
    for kind, _, count, found in sizes:
        if "written" in found:
            first, last = found["written_first"], found["written_last"]
            say(
                f"{kind:<14} {count:>7} {found['written'] / 1024:>12.0f} "
                f"{found['written'] / count:>9.0f} {first:>10} {last:>9} "
                f"{last / max(first, 1):>10.1f}"
            )
    say(
        "first/last 10%: bytes written per signal over the meeting's first and last tenth;\n"
        "flat (last/first about 1) means a signal costs the same late in a long meeting\n"
    )

    say("footprint after N signals (each case in a fresh process)")
    say(
        f"{'store':<14} {'signals':>7} {'disk open':>10} {'closed':>9} {'B/signal':>9} "
        f"{'heap KiB':>9} {'B/signal':>9} {'RSS KiB':>8}"
    )
    for kind, _, count, found in sizes:
        if "disk_closed" in found:
            disk = f"{found['disk_open']:>10} {found['disk_closed']:>9} "
            disk += f"{found['disk_closed'] / count:>9.0f}"
        else:
            disk = f"{'-':>10} {'-':>9} {'-':>9}"
        say(
            f"{kind:<14} {count:>7} {disk} {found['heap'] / 1024:>9.0f} "
            f"{found['heap'] / count:>9.0f} {found['rss'] / 1024:>8.0f}"
        )
    say(
        "disk: bytes of db + WAL + shm while open, and of the db after close (checkpointed);\n"
        "heap: Python memory the store still holds afterwards (tracemalloc; SQLite's own C\n"
        "memory is not in it); RSS: growth of the process's resident set over the run\n"
    )

    say("where SQLite's time goes: apply_signal's steps one by one (medians, ms)")
    say(
        f"{'people':>6} {'signals':>7} {'seen':>7} {'load':>7} {'step':>7} {'apply':>7} "
        f"{'1 query':>8} {'state KiB':>10} {'written MB':>11}"
    )
    for people, count, split in breakdown:
        say(
            f"{people:>6} {count:>7} {split.seen:>7.3f} {split.load:>7.3f} {split.step:>7.3f} "
            f"{split.apply:>7.3f} {split.round_trip:>8.3f} {split.state_bytes / 1024:>10.1f} "
            f"{split.written_bytes / 1e6:>11.1f}"
        )
    say(
        "1 query: one trivial SELECT through aiosqlite (the floor of any store call);\n"
        "state: the meeting snapshot at the end, decoded on every load and rewritten on every\n"
        "apply; written: all snapshots of the meeting added up (what the rewrites cost)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    parser.add_argument("--child-footprint", nargs=3, metavar=("STORE", "PEOPLE", "SIGNALS"))
    args = parser.parse_args()
    folder: Path = args.dir
    if args.child_footprint:
        kind, people, count = args.child_footprint
        found = asyncio.run(measure_footprint(kind, int(people), int(count), folder))
        print(json.dumps(found))
        return
    repeats = 1 if args.quick else args.repeats
    started = time.perf_counter()
    print(
        f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} cores, files in {folder}\n"
    )
    timings = asyncio.run(throughput(folder, repeats))
    replays = asyncio.run(replay_cost(folder, repeats))
    plan = seen_query_plan(meeting_signals(*SIZES[0]), folder)
    sizes = footprints(folder)
    breakdown = [(p, n, asyncio.run(phases(folder, p, n))) for p, n in SIZES]
    print_tables(timings, replays, plan, sizes, breakdown)
    if args.profile:
        print("\n" + profile(folder))
    print(f"\n(took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
