"""The process tests/test_kill.py kills: applies a fixed list of signals, reporting each commit.

Usage: python tests/kill_child.py PATH SEED COUNT HOLD

It prints one line per step and flushes, so the parent knows what was acknowledged:
`committed <key>` after a commit, `skipped <key>` for a replay, and, from SQLite's trace
callback, `begin`, `write`, `commit` and `rollback` as statements start. With HOLD > 0 (in
seconds) it sometimes sleeps up to HOLD before a write, with a transaction open, so that
kills land inside transactions too.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Any

from scorebot.app import apply_signal
from scorebot.core.model import (
    CloseStack,
    Cue,
    Done,
    EndMeeting,
    Join,
    Lane,
    Leave,
    Move,
    NewTopic,
    Next,
    Oops,
    OpenStack,
    Ouch,
    Person,
    Priority,
    Resolve,
    Signal,
    Source,
    StartMeeting,
    Status,
)
from scorebot.store.sqlite import SqliteStore

ROOM = "!kill:example.org"
FACILITATOR = Person("@alice:example.org", "Alice")
PEOPLE = (
    FACILITATOR,
    Person("@bob:example.org", "Bob"),
    Person("@chen:example.org", "Chen"),
    Person("@dara:example.org", "Dara"),
    Person.guest("Eve"),
)
T0 = 1_700_000_000.0


def _cue(rng: random.Random) -> tuple[Person, Cue]:
    """A sender and a cue, weighted towards what real meetings are made of."""
    sender = rng.choice(PEOPLE)
    other = rng.choice(PEOPLE)
    roll = rng.random()
    if roll < 0.30:
        lane = rng.choice([Lane.REGULAR, Lane.REGULAR, Lane.DIRECT, Lane.CLARIFYING, Lane.PROCESS])
        return sender, Join(lane=lane)
    if roll < 0.35:
        return FACILITATOR, Join(who=other)
    if roll < 0.43:
        return sender, Leave()
    if roll < 0.58:
        return FACILITATOR, Next()
    if roll < 0.62:
        return sender, Done()
    if roll < 0.68:
        return sender, Ouch(at=rng.choice([None, other]), anonymous=rng.random() < 0.3)
    if roll < 0.73:
        return sender, Oops()
    if roll < 0.76:
        return FACILITATOR, Resolve()
    if roll < 0.82:
        return sender, Priority(on=rng.random() < 0.7, keep=rng.random() < 0.3)
    if roll < 0.87:
        return FACILITATOR, NewTopic(rng.choice(["", "Rota", "Budget", "Garden"]))
    if roll < 0.89:
        return FACILITATOR, Move(other, rng.randint(1, 3))
    if roll < 0.91:
        stack_cue: Cue = CloseStack() if rng.random() < 0.5 else OpenStack()
        return FACILITATOR, stack_cue
    if roll < 0.94:
        return FACILITATOR, EndMeeting()
    if roll < 0.97:
        return FACILITATOR, StartMeeting(rng.choice(["", "Weekly", "Retro"]))
    return sender, Status()


def build_signals(seed: int, count: int) -> list[Signal]:
    """The same list for the same seed: keys k0 … k<count-1>, times strictly increasing."""
    rng = random.Random(seed)
    signals = []
    at = T0
    for index in range(count):
        sender, cue = _cue(rng)
        at += rng.choice([0.5, 1.0, 2.0, 7.25, 30.0, 95.5])
        source = rng.choice(list(Source))
        facilitator = sender == FACILITATOR
        signals.append(Signal(f"k{index}", sender, cue, source, at, facilitator=facilitator))
    return signals


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def trace_every_connection(hold: float, rng: random.Random) -> None:
    """Report (and maybe hold in) the statements of every sqlite3 connection this process opens.

    The store under test is used unchanged: the hook is on the sqlite3 module, in this
    child only.
    """
    real_connect: Callable[..., sqlite3.Connection] = sqlite3.connect

    def trace(statement: str) -> None:
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if word == "BEGIN":
            say("begin")
        elif word in ("INSERT", "UPDATE", "CREATE"):
            say("write")
            if hold > 0 and rng.random() < 0.2:
                # This runs on aiosqlite's worker thread, never on the event loop.
                time.sleep(rng.uniform(0, hold))
        elif word in ("COMMIT", "ROLLBACK"):
            say(word.lower())

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = connect  # type: ignore[assignment]  # the overloads are not needed here


async def main(path: str, seed: int, count: int, hold: float) -> None:
    trace_every_connection(hold, random.Random())
    store = await SqliteStore.open(path)
    say("open")
    try:
        for each in build_signals(seed, count):
            applied = await apply_signal(store, each, ROOM)
            say(f"{'committed' if applied is not None else 'skipped'} {each.key}")
    finally:
        await store.close()
    say("done")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
