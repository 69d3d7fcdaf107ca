"""What one member's flood costs everyone else, with and without per-sender fairness.

Run: .venv/bin/python -m bench.fairness [--flood 200] [--repeats 5]

The consumer (`scorebot.app.consumer.Consumer.take`) takes a queue as a sync delivers it: one
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

from scorebot.app.consumer import Consumer, ConsumerSettings
from scorebot.app.items import Inbound, InRoom, Item
from scorebot.app.ports import Outgoing, OutKind
from scorebot.core.fairness import Fairness, FairnessSettings
from scorebot.core.model import Help, Join, Minutes, Person, Settings, Signal, Source, Status
from scorebot.store.sqlite import SqliteStore

ROOM = "!meeting:example.org"
BOT = Person("@scorebot:example.org", "scorebot")
MALLORY = Person("@mallory:example.org", "Mallory")
ANN = Person("@ann:example.org", "Ann")


NO_LIMITS = FairnessSettings(
    burst=10**9, facilitator_burst=10**9, repeat_window=0.0, long_window=0.0
)
"""fairness off: everyone's every signal is taken and answered"""


@dataclass
class CountingOutbox:
    messages: int = 0
    characters: int = 0
    answered_ann: float | None = None
    started: float = field(default_factory=time.perf_counter)

    def post(self, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            if message.answers == ANN.id:
                self.answered_ann = time.perf_counter() - self.started
            elif message.kind is not OutKind.OVERVIEW:
                self.messages += 1
                self.characters += len(message.text) + len(message.html)


def queue(flood: int) -> list[Item]:
    cues = [Join(), Minutes(), Help(), Status()]
    items: list[Item] = []
    for n in range(flood):
        signal = Signal(f"$m{n}", MALLORY, cues[n % 4], Source.CHAT, 1000.0 + n * 0.02)
        items.append(Inbound(signal, ROOM, InRoom(f"$m{n}")))
    honest = Signal("$ann", ANN, Join(), Source.CHAT, 1000.0 + flood * 0.02)
    items.append(Inbound(honest, ROOM, InRoom("$ann")))
    return items


async def run(flood: int, fair: bool, folder: Path) -> CountingOutbox:
    store = await SqliteStore.open(folder / f"bench-{fair}-{time.monotonic_ns()}.db")
    outbox = CountingOutbox()
    consumer = Consumer(store, outbox, ConsumerSettings(defaults=Settings(), bot=BOT))
    consumer.fairness = Fairness() if fair else Fairness(NO_LIMITS)
    try:
        for item in queue(flood):
            await consumer.take(item)
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
