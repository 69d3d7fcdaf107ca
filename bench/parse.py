"""How long the chat parser takes on ordinary and adversarial messages, as they grow.

Run: .venv/bin/python -m bench.parse
One row per input: microseconds per `parse` (room) and `parse_private` (direct chat), best
of 5 runs, and the ratio to "stack". A message longer than MAX_INPUT is not looked at, so
the adversarial rows must stay near the short ones however long the input; before issue 9
a direct message of "x" + 40,000 spaces + "y" took 36 s (a quadratic room-suffix pattern).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from scorebot.core.parse import MAX_INPUT, ParseContext, parse, parse_private

MEMBERS = {f"@m{i}:example.org": f"Member {i}" for i in range(200)}
CONTEXT = ParseContext(facilitator=True, members=MEMBERS)


def inputs() -> list[tuple[str, str]]:
    return [
        ("stack", "stack"),
        ("move Member 12 to 3", "move Member 12 to 3"),
        ("mark Member 7 in Budget", "mark Member 7 in Budget"),
        ("chat, 100 chars", "we stacked the chairs " * 4 + "and more"),
        (f"x + {MAX_INPUT - 2} spaces + y", "x" + " " * (MAX_INPUT - 2) + "y"),
        (f"{MAX_INPUT - 1} commas + x", "," * (MAX_INPUT - 1) + "x"),
        (f"'in ' up to {MAX_INPUT}", ("in " * MAX_INPUT)[:MAX_INPUT]),
        ("x + 40,000 spaces + y", "x" + " " * 40_000 + "y"),
        ("100k spaces", " " * 100_000),
        ("100k commas", "," * 100_000),
        ("'in ' x 25,000", "in " * 25_000),
        ("'move a to ' x 10,000", "move a to " * 10_000),
        ("'stack ' x 16,000", "stack " * 16_000),
        ("100k hands", "✋" * 100_000),
    ]


def best_micros(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        loops = 20
        start = time.perf_counter()
        for _ in range(loops):
            run()
        times.append((time.perf_counter() - start) / loops)
    return min(times) * 1e6


def main() -> None:
    # --quick is accepted for symmetry with the other benches; this one takes seconds.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same run (it is quick)")
    parser.parse_args()
    rows = []
    for label, text in inputs():
        room = best_micros(lambda text=text: parse(text, CONTEXT))  # type: ignore[misc]
        private = best_micros(lambda text=text: parse_private(text, CONTEXT))  # type: ignore[misc]
        rows.append((label, len(text), room, private))
    base_room, base_private = rows[0][2], rows[0][3]
    print(
        f"{'input':<26} {'chars':>7} {'parse µs':>9} {'ratio':>6} {'private µs':>11} {'ratio':>6}"
    )
    for label, size, room, private in rows:
        print(
            f"{label:<26} {size:>7} {room:>9.1f} {room / base_room:>6.1f}"
            f" {private:>11.1f} {private / base_private:>6.1f}"
        )


if __name__ == "__main__":
    main()
