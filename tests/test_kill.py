"""SIGKILL the process committing signals: what it acknowledged stays; nothing is half done."""

from __future__ import annotations

import asyncio
import random
import signal as signals_module
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from scorebot.core.minutes import Record, records
from scorebot.core.model import Meeting, Signal
from scorebot.core.step import step
from scorebot.store.protocol import MeetingInfo
from scorebot.store.sqlite import SqliteStore
from tests.kill_child import ROOM, build_signals

CHILD = Path(__file__).with_name("kill_child.py")
COUNT = 300
SEED = 20240611
KILL_ROUNDS = 10
HOLD = 0.004
"""seconds the child may sleep before a write with a transaction open"""
LINE_TIMEOUT = 20.0
"""seconds to wait for the child's next line before calling it hung"""


@dataclass
class Child:
    """One run of kill_child.py and what it said."""

    process: asyncio.subprocess.Process
    committed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    last_marker: str = ""
    done: bool = False

    @classmethod
    async def start(cls, path: Path) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            str(path),
            str(SEED),
            str(COUNT),
            str(HOLD),
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    def hear(self, raw: bytes) -> str:
        line = raw.decode().strip()
        word, _, key = line.partition(" ")
        if word == "committed":
            self.committed.append(int(key.removeprefix("k")))
        elif word == "skipped":
            self.skipped.append(int(key.removeprefix("k")))
        elif word == "done":
            self.done = True
        if line:
            self.last_marker = word
        return word

    async def next_word(self) -> str | None:
        """The next line's first word, or None when the child has gone."""
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), LINE_TIMEOUT)
        return self.hear(raw) if raw else None

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signals_module.SIGKILL)
        assert self.process.stdout is not None
        # Whatever it flushed before dying is still in the pipe.
        for raw in (await self.process.stdout.read()).splitlines():
            self.hear(raw)
        await self.process.wait()


@dataclass(frozen=True, slots=True)
class Expected:
    meeting: Meeting | None
    minutes: dict[int, list[Record]]
    infos: list[MeetingInfo]


def fold(signals: list[Signal]) -> Expected:
    """What a store must hold after exactly these signals, by `step` alone."""
    meeting: Meeting | None = None
    minutes: dict[int, list[Record]] = {}
    infos: dict[int, MeetingInfo] = {}
    for each in signals:
        before = meeting or Meeting(ROOM)
        meeting, events = step(before, each)
        lines = records(events, each.at)
        minutes.setdefault(meeting.number, []).extend(lines)
        if meeting.number > 0:
            ended = before.active and not meeting.active
            old = infos.get(meeting.number)
            ended_at = each.at if ended else (old.ended_at if old else None)
            infos[meeting.number] = MeetingInfo(
                ROOM, meeting.number, meeting.title, meeting.started_at, ended_at
            )
    return Expected(meeting, minutes, [infos[n] for n in sorted(infos)])


async def stored_keys(path: Path) -> list[str]:
    async with aiosqlite.connect(path) as db:
        assert list(await db.execute_fetchall("PRAGMA integrity_check")) == [("ok",)]
        return [row[0] for row in await db.execute_fetchall("SELECT key FROM processed")]


async def check(path: Path, signals: list[Signal], acknowledged: int) -> int:
    """Assert the file holds exactly a prefix of the signals; return its length."""
    store = await SqliteStore.open(path)
    try:
        keys = await stored_keys(path)
        applied = len(keys)
        assert sorted(keys) == sorted(f"k{i}" for i in range(applied)), "not a prefix"
        assert applied >= acknowledged, f"acknowledged {acknowledged}, kept {applied}"
        expected = fold(signals[:applied])
        assert await store.load(ROOM) == expected.meeting
        assert await store.meetings() == expected.infos
        for number in range(1, (expected.meeting.number if expected.meeting else 0) + 1):
            assert await store.minutes(ROOM, number) == expected.minutes.get(number, [])
    finally:
        await store.close()
    return applied


async def test_sigkill_keeps_every_acknowledged_commit_and_never_half_of_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scorebot.db"
    signals = build_signals(SEED, COUNT)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    applied = acknowledged = 0
    landed: Counter[str] = Counter()
    unacknowledged_commits = 0
    for round_ in range(KILL_ROUNDS):
        child = await Child.start(path)
        if round_ == 0:
            # Early: while the interpreter starts, or during the first open and migration.
            await asyncio.sleep(rng.uniform(0.05, 0.4))
        else:
            target = min(applied + rng.randint(1, 28), COUNT - 2)
            while not child.committed or child.committed[-1] < target:
                assert await child.next_word() is not None, f"child died (timing seed {seed})"
            moment = ("anywhere", "write", "commit")[round_ % 3]
            if moment == "anywhere":
                await asyncio.sleep(rng.uniform(0, 0.005))
            else:
                # "write": the transaction is open (and may be held); "commit": it is ending.
                while await child.next_word() not in (moment, None):
                    pass
        await child.kill()
        assert child.process.returncode == -signals_module.SIGKILL, f"timing seed {seed}"
        # A restarted child finds the keys already kept and must not commit them again.
        assert child.skipped == list(range(min(applied, len(child.skipped))))
        assert all(index >= applied for index in child.committed)
        if child.committed:
            acknowledged = child.committed[-1] + 1
        landed[child.last_marker or "before any output"] += 1
        kept = max(applied, acknowledged)
        applied = await check(path, signals, acknowledged)
        # Only a kill after COMMIT started may keep one signal the child did not report.
        assert applied - kept in ((0, 1) if child.last_marker == "commit" else (0,))
        unacknowledged_commits += applied - kept

    child = await Child.start(path)
    while await child.next_word() is not None:
        pass
    assert await child.process.wait() == 0
    assert child.done
    assert child.skipped == list(range(applied))
    assert child.committed == list(range(applied, COUNT))
    assert await check(path, signals, COUNT) == COUNT

    # -s shows where the kills landed: "write"/"begin" mean inside a transaction.
    print(
        f"kills by last thing the child said: {dict(landed)}; "
        f"commits kept without acknowledgement: {unacknowledged_commits}; timing seed {seed}"
    )
