"""What one member's flood costs everyone else, with and without per-sender fairness.

Run: .venv/bin/python bench/bench_fairness.py [--flood 200] [--repeats 5]

The consumer (`scorebot.matrix.consumer.handle`) takes a queue as a sync delivers it: one
member's flood of cues (`stack`, `minutes`, `help`, `stack?` in turn), then one honest
member's `stack`, on a real SQLite store. It prints how long the honest `stack` waited
behind the flood (the consumer's share of the delay; the homeserver's rate limit on the
bot's replies comes on top, one message at a time), how many messages the flood made the
bot post and how many characters they held. Read the ratio column: fairness off over on.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scorebot.core.fairness import Fairness
from scorebot.core.model import Help, Join, Minutes, Person, Settings, Signal, Source, Status
from scorebot.core.render import Reply
from scorebot.matrix.consumer import ConsumerSettings, handle
from scorebot.matrix.items import Inbound, Item, Notice
from scorebot.store.sqlite import SqliteStore

ROOM = "!meeting:example.org"
BOT = Person("@scorebot:example.org", "scorebot")
MALLORY = Person("@mallory:example.org", "Mallory")
ANN = Person("@ann:example.org", "Ann")


@dataclass
class CountingOutbox:
    messages: int = 0
    characters: int = 0
    answered_ann: float | None = None
    started: float = field(default_factory=time.perf_counter)

    async def send(self, item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> None:
        if item.signal.sender == ANN:
            self.answered_ann = time.perf_counter() - self.started
            return
        self.messages += len(replies)
        self.characters += sum(len(reply.text) + len(reply.html) for reply in replies)

    async def notify(self, notice: Notice) -> None:
        self.messages += 1
        self.characters += len(notice.text)


def queue(flood: int) -> list[Item]:
    cues = [Join(), Minutes(), Help(), Status()]
    items: list[Item] = []
    for n in range(flood):
        signal = Signal(f"$m{n}", MALLORY, cues[n % 4], Source.CHAT, 1000.0 + n * 0.02)
        items.append(Inbound(signal, ROOM, ROOM, f"$m{n}"))
    honest = Signal("$ann", ANN, Join(), Source.CHAT, 1000.0 + flood * 0.02)
    items.append(Inbound(honest, ROOM, ROOM, "$ann"))
    return items


async def run(flood: int, fair: bool, folder: Path) -> CountingOutbox:
    store = await SqliteStore.open(folder / f"bench-{fair}-{time.monotonic_ns()}.db")
    settings = ConsumerSettings(defaults=Settings(), bot=BOT)
    fairness = Fairness() if fair else None
    outbox = CountingOutbox()
    try:
        for item in queue(flood):
            await handle(item, store, outbox, settings, fairness)
    finally:
        await store.close()
    return outbox


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results: dict[bool, list[CountingOutbox]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for fair in (False, True):
                results[fair].append(await run(args.flood, fair, Path(folder)))

    def median(fair: bool, what: str) -> float:
        return statistics.median(float(getattr(o, what) or 0.0) for o in results[fair])

    print(f"flood of {args.flood} cues from one member, then one honest 'stack'; median of")
    print(f"{args.repeats} runs on SQLite in the temp dir\n")
    print(f"| {'':38} | {'fairness off':>12} | {'fairness on':>12} | {'off / on':>8} |")
    print(f"|{'-' * 40}|{'-' * 14}|{'-' * 14}|{'-' * 10}|")
    rows = [
        ("honest 'stack' answered after (ms)", "answered_ann", 1000.0),
        ("messages the flood made the bot post", "messages", 1.0),
        ("characters in them", "characters", 1.0),
    ]
    for label, what, scale in rows:
        off, on = median(False, what) * scale, median(True, what) * scale
        ratio = off / on if on else float("inf")
        print(f"| {label:38} | {off:12.0f} | {on:12.0f} | {ratio:8.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
