"""How fast the pure core applies signals, as the stack and the meeting grow.

Run: .venv/bin/python -m bench.core
Prints one row per (stack size, turns so far): microseconds per join+leave pair, and the
ratio to the smallest case (compare ratios, not absolute numbers, on a shared machine).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from scorebot.core.model import Join, Leave, Meeting, Next, Person, Signal, Source, StartMeeting
from scorebot.core.step import step

FAC = Person("@fac:x", "Facilitator")


def meeting_with(stack: int, turns: int) -> Meeting:
    meeting = Meeting("!bench:x")
    at = 0.0

    def send(who: Person, cue: object, facilitator: bool = False) -> None:
        nonlocal meeting, at
        at += 1
        meeting, _ = step(meeting, Signal(f"k{at}", who, cue, Source.CHAT, at, facilitator))  # type: ignore[arg-type]

    send(FAC, StartMeeting(), True)
    for index in range(turns):
        send(Person(f"@t{index % 50}:x", f"T{index}"), Join())
        send(FAC, Next(), True)
    for index in range(stack):
        send(Person(f"@s{index}:x", f"S{index}"), Join())
    return meeting


def per_pair(meeting: Meeting, rounds: int) -> float:
    """Microseconds for one join and one leave by a newcomer, on the given meeting."""
    newcomer = Person("@new:x", "New")
    join = Signal("j", newcomer, Join(), Source.CHAT, 1e9)
    leave = Signal("l", newcomer, Leave(), Source.CHAT, 1e9)
    start = time.perf_counter()
    for _ in range(rounds):
        joined, _ = step(meeting, join)
        step(joined, leave)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat per size")
    repeats = 1 if parser.parse_args().quick else 3
    rows = []
    for stack, turns in [(5, 10), (20, 10), (20, 200), (100, 200), (500, 1000)]:
        meeting = meeting_with(stack, turns)
        per_pair(meeting, 20)  # warm up
        rows.append((stack, turns, min(per_pair(meeting, 200) for _ in range(repeats))))
    tracemalloc.start()
    big = meeting_with(100, 1000)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    base = rows[0][2]
    print(f"{'stack':>6} {'turns':>6} {'µs per join+leave':>18} {'ratio':>7}")
    for stack, turns, micros in rows:
        print(f"{stack:>6} {turns:>6} {micros:>18.1f} {micros / base:>7.1f}")
    print(
        f"\nmemory: a meeting with 100 waiting and 1000 turns holds {current / 1024:.0f} KiB "
        f"(peak while building {peak / 1024:.0f} KiB); {len(big.meeting_tallies)} speakers tallied,"
        f" no turn kept"
    )


if __name__ == "__main__":
    main()
