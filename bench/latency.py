"""Round-trip latency of scorebot against a floor echo bot, side by side on one local Synapse.

Run: .venv/bin/python -m bench.latency [--rounds 200] [--quick] [--keep]

One throwaway Synapse on 127.0.0.1; two bots, each its own process started as a user
would: the floor (`bench.echo_bot`: decrypt, answer, nothing else) and scorebot
(`python -m scorebot run --config ...`). Two encrypted rooms with the same people (a
facilitator, a member, the bot). The member alternates: a message in the floor's room, then
"stack" / "unstack" in scorebot's room (real work: commit, render, the stack message edit),
the order swapped every round. A round trip is from just before the member sends until the
member's client has the bot's reply decrypted. `server` is the part between the server
timestamps of the message and of the reply (the bot's own share).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field

from bench.harness import Say, World, lapper, percentile, phases_line, run_main, table
from bench.procs import BotProcess
from scorebot.demo.member import Member, Message

READY_WAIT = 90.0
"""seconds for a bot to start and join its room"""

REPLY_WAIT = 30.0
"""seconds to wait for one answer"""

SETTLE = 0.3
"""seconds between round trips (untimed), so that what trails a reply (scorebot's edit of
its stack message and its ✋ reaction) does not land in the next measurement"""

P50_TARGET = 1.15
P95_TARGET = 1.3


@dataclass(slots=True)
class Trip:
    total: float
    server: float


@dataclass(slots=True)
class Results:
    floor: list[Trip] = field(default_factory=list)
    scorebot: list[Trip] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)


def own_timestamp(member: Member, event_id: str) -> float | None:
    for record in reversed(member.records):
        if isinstance(record, Message) and record.event_id == event_id:
            return record.server_timestamp / 1000
    return None


async def round_trip(member: Member, room: str, text: str, bot: BotProcess, bot_id: str) -> Trip:
    started = time.monotonic()
    sent_wall = time.time()
    event_id = await member.send_text(room, text)
    reply = await bot.unless_dead(
        member.wait_reply_to(event_id, sender=bot_id, timeout=REPLY_WAIT), f"the answer to {text}"
    )
    total = time.monotonic() - started
    stored = own_timestamp(member, event_id) or sent_wall
    return Trip(total, reply.server_timestamp / 1000 - stored)


async def run(w: World, rounds: int, results: Results) -> None:
    lap = lapper(results.phases)
    await w.register(["scorebot", "floor", "fran", "ann"])
    lap("users registered")
    scorebot = await w.start_scorebot("scorebot")
    floor = await w.start_echo("floor")
    fran, ann = await w.login(["fran", "ann"])
    bot_room = await fran.create_room("Latency scorebot", invite=[w.ids["scorebot"], ann.user_id])
    floor_room = await fran.create_room("Latency floor", invite=[w.ids["floor"], ann.user_id])
    await ann.join(bot_room)
    await ann.join(floor_room)
    for bot, name, room in ((scorebot, "scorebot", bot_room), (floor, "floor", floor_room)):
        await bot.unless_dead(
            fran.wait_member(room, w.ids[name], timeout=READY_WAIT), f"{name} to join"
        )
    lap("bots started, rooms made")
    # First messages set up Olm sessions and share room keys: kept out of the measurements.
    await scorebot.unless_dead(
        _say(fran, bot_room, "start meeting Latency", w.ids["scorebot"]), "the meeting start"
    )
    await floor.unless_dead(_say(ann, floor_room, "hello", w.ids["floor"]), "the first echo")
    await scorebot.unless_dead(_say(ann, bot_room, "stack", w.ids["scorebot"]), "the first stack")
    await scorebot.unless_dead(_say(ann, bot_room, "unstack", w.ids["scorebot"]), "warm-up")
    await asyncio.sleep(2.0)
    lap("warm-up")
    for index in range(rounds):
        text = "stack" if index % 2 == 0 else "unstack"
        order = [("floor", floor_room, floor), ("scorebot", bot_room, scorebot)]
        for name, room, bot in order if index % 2 == 0 else order[::-1]:
            trip = await round_trip(ann, room, text, bot, w.ids[name])
            (results.floor if name == "floor" else results.scorebot).append(trip)
            await asyncio.sleep(SETTLE)
    lap(f"{rounds} rounds")


async def _say(member: Member, room: str, text: str, bot: str) -> Message:
    event_id = await member.send_text(room, text)
    return await member.wait_reply_to(event_id, sender=bot, timeout=REPLY_WAIT)


def report(results: Results, say: Say = print) -> bool:
    """Print the table (with whether the ratio targets are met)."""
    rows = []
    stats: dict[str, tuple[float, float, float]] = {}
    for name, trips in (("floor (echo bot)", results.floor), ("scorebot", results.scorebot)):
        totals = [t.total * 1e3 for t in trips]
        servers = [t.server * 1e3 for t in trips]
        stats[name] = (percentile(totals, 0.5), percentile(totals, 0.95), percentile(totals, 0.99))
        rows.append(
            [
                name,
                len(trips),
                *stats[name],
                max(totals, default=float("nan")),
                percentile(servers, 0.5),
                percentile(servers, 0.95),
            ]
        )
    floor_p, bot_p = stats["floor (echo bot)"], stats["scorebot"]
    ratios = [b / f if f else float("nan") for b, f in zip(bot_p, floor_p, strict=True)]
    met = ratios[0] <= P50_TARGET and ratios[1] <= P95_TARGET
    say(
        "ratio scorebot / floor:  "
        f"p50 {ratios[0]:.2f} (target <= {P50_TARGET})  "
        f"p95 {ratios[1]:.2f} (target <= {P95_TARGET})  p99 {ratios[2]:.2f}  "
        f"-> {'met' if met else 'NOT met'}"
    )
    say("round trip, member sends -> member has the reply decrypted (ms); server = bot's share")
    header = ["bot", "n", "p50", "p95", "p99", "max", "server p50", "server p95"]
    say(table(header, rows))
    say(phases_line(results.phases))
    return True  # nothing here must hold; the ratio targets are printed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="round trips per bot")
    parser.add_argument("--quick", action="store_true", help="20 round trips per bot")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    args = parser.parse_args()
    rounds = 20 if args.quick else args.rounds
    results = Results()
    return run_main(
        "latency", args.keep, lambda w: run(w, rounds, results), lambda: report(results)
    )


if __name__ == "__main__":
    sys.exit(main())
