"""How long scorebot takes to start, cold and with its store, and to catch up after downtime.

Run: .venv/bin/python -m bench.startup [--cold 3] [--warm 5] [--backlog 500] [--quick] [--keep]

One throwaway Synapse on 127.0.0.1; the bot runs as `python -m scorebot run --config ...`.

- cold: a new account and an empty data folder (log in as a new device, create the
  cross-signing identity, first sync, accept the waiting invite). `ready` = process start
  until the log says "scorebot is running"; `answered` = process start until the
  facilitator, who says "stack" as soon as the bot has joined, has the decrypted answer.
- warm: the same bot restarted with its data folder. The facilitator says "stack" (or
  "unstack") right after the process is started, so `answered` is process start until
  the answer: restore, first sync from the stored position, commit, reply.
- catch-up: the bot is stopped (SIGTERM), then members send `--backlog` signals ("stack"
  and "unstack" in turn, 5 members in each of 10 rooms) as fast as they can; then the bot
  starts. "10 minutes offline" is faked by this: what the bot has to catch up on is the
  events after its stored sync position, not the wall time, so sending them in less time
  changes nothing on its side (Synapse's /sync and /messages walk the same events).
  `all answered` = process start until the observer has an answer for every signal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

from bench.answers import Sent, TimedMember, match_answers
from bench.harness import Say, World, lapper, phases_line, run_main, table, until
from bench.procs import BotProcess
from scorebot.demo.member import Message

READY_LINE = "scorebot is running"
"""what scorebot/matrix/run.py logs once it is up; if reworded, `ready` shows "-"."""

LOG_GRACE = 5.0
"""seconds after the answer that the ready line may still take to be found"""
START_WAIT = 120.0
"""seconds for one start, answer included"""

CATCH_UP_WAIT = 600.0
"""seconds for the whole backlog to be answered"""

MEMBERS = 5


@dataclass(slots=True)
class Start:
    ready: float
    answered: float


@dataclass(slots=True)
class Results:
    cold: list[Start] = field(default_factory=list)
    warm: list[Start] = field(default_factory=list)
    backlog: int = 0
    rooms: int = 0
    send_seconds: float = 0.0
    catch_up_ready: float = float("nan")
    first_answer: float = float("nan")
    all_answered: float = float("nan")
    threaded: int = 0
    named: int = 0
    burst: int = 0
    lost: int = 0
    duplicates: int = 0
    bot_messages: int = 0
    phases: dict[str, float] = field(default_factory=dict)


async def answer_to(
    member: TimedMember, room: str, text: str, bot: BotProcess, bot_id: str
) -> Message:
    event_id = await member.send_text(room, text)
    return await bot.unless_dead(
        member.wait_reply_to(event_id, sender=bot_id, timeout=START_WAIT), f"the answer to {text}"
    )


async def run(
    w: World, *, cold: int, warm: int, backlog: int, rooms: int, results: Results
) -> None:
    lap = lapper(results.phases)
    bots = [f"bot{n}" for n in range(cold)]
    members = [f"m{n}" for n in range(MEMBERS)]
    await w.register([*bots, "fran", *members])
    fran, *people = await w.login(["fran", *members])
    lap("accounts, members logged in")

    # Cold: each start is a new account whose invite is waiting.
    room = ""
    for name in bots:
        room = await fran.create_room(f"Start {name}", invite=[w.ids[name]])
        bot = await w.start_scorebot(name)
        ready = asyncio.ensure_future(bot.wait_log(READY_LINE, START_WAIT))
        await bot.unless_dead(fran.wait_member(room, w.ids[name], timeout=START_WAIT), "join")
        await answer_to(fran, room, "stack", bot, w.ids[name])
        answered = time.monotonic() - bot.started
        results.cold.append(Start(await bot.log_time(ready, LOG_GRACE), answered))
        if name != bots[-1]:
            await bot.stop()
    lap(f"{cold} cold starts")

    # The last bot stays: it joins the catch-up rooms and starts a meeting in each.
    name = bots[-1]
    bot_id = w.ids[name]
    backlog_rooms = []
    for index in range(rooms):
        backlog_room = await fran.create_room(
            f"Backlog {index}", invite=[bot_id, *(p.user_id for p in people)]
        )
        await asyncio.gather(*(p.join(backlog_room) for p in people))
        await bot.unless_dead(fran.wait_member(backlog_room, bot_id, timeout=START_WAIT), "join")
        await asyncio.gather(*(p.send_text(backlog_room, "hello") for p in people))
        await answer_to(fran, backlog_room, f"start meeting Backlog {index}", bot, bot_id)
        backlog_rooms.append(backlog_room)
    await asyncio.sleep(2.0)
    await bot.stop()
    lap(f"{rooms} rooms for the backlog")

    # Warm: restart with the data folder; the signal is sent right after the spawn.
    for index in range(warm):
        bot = await w.start_scorebot(name)
        ready_seen = asyncio.ensure_future(bot.wait_log(READY_LINE, START_WAIT))
        text = "unstack" if index % 2 == 0 else "stack"  # the cold start left fran on it
        await answer_to(fran, room, text, bot, bot_id)
        answered = time.monotonic() - bot.started
        results.warm.append(Start(await bot.log_time(ready_seen, LOG_GRACE), answered))
        await asyncio.sleep(1.0)
        await bot.stop()
    lap(f"{warm} warm starts")

    # Catch-up: the backlog is sent while the bot is down.
    results.backlog, results.rooms = backlog, rooms
    per_room = backlog // rooms
    sent: list[Sent] = []
    started = time.monotonic()

    async def fill(backlog_room: str) -> None:
        for index in range(per_room):
            member = people[index % len(people)]
            text = "stack" if (index // len(people)) % 2 == 0 else "unstack"
            before = time.monotonic()
            event_id = await member.send_text(backlog_room, text)
            sent.append(Sent(backlog_room, event_id, member.user_id, before))

    await asyncio.gather(*(fill(r) for r in backlog_rooms))
    results.send_seconds = time.monotonic() - started
    # The observer must have every signal before the bot starts (for their server times).
    ids = {s.event_id for s in sent}
    await until(lambda: ids <= fran.arrived.keys(), START_WAIT, "the backlog to reach fran")
    lap(f"{len(sent)} signals sent while the bot was down")

    bot = await w.start_scorebot(name)
    sent = [Sent(s.room, s.event_id, s.sender, bot.started) for s in sent]
    ready_seen = asyncio.ensure_future(bot.wait_log(READY_LINE, START_WAIT))

    def all_answered() -> bool:
        return all(a.reply is not None for a in match_answers(fran, bot_id, sent))

    # What is still unanswered after the wait is counted as lost below.
    with contextlib.suppress(TimeoutError):
        await bot.unless_dead(until(all_answered, CATCH_UP_WAIT, "answers", 0.5), "answers")
    await asyncio.sleep(3.0)  # anything posted twice would come now
    results.catch_up_ready = await bot.log_time(ready_seen, LOG_GRACE)
    answers = match_answers(fran, bot_id, sent)
    latencies = [a.latency for a in answers if a.reply is not None]
    if latencies:
        results.first_answer = min(latencies)
        results.all_answered = max(latencies) if len(latencies) == len(answers) else float("nan")
    results.threaded = sum(a.how == "threaded" for a in answers)
    results.named = sum(a.how == "named" for a in answers)
    results.burst = sum(a.how == "burst" for a in answers)
    results.lost = sum(a.how == "none" for a in answers)
    results.duplicates = sum(a.duplicates for a in answers)
    after = bot.started
    results.bot_messages = sum(
        1
        for r in fran.records
        if isinstance(r, Message)
        and r.sender == bot_id
        and r.replaces is None
        and r.room_id in backlog_rooms
        and fran.arrived.get(r.event_id, 0) >= after
    )
    lap("catch-up")


def report(results: Results, say: Say = print) -> bool:
    def row(label: str, starts: list[Start]) -> list[object]:
        ready = [s.ready for s in starts]
        answered = [s.answered for s in starts]
        return [
            label,
            len(starts),
            statistics.median(ready) if ready else float("nan"),
            max(ready, default=float("nan")),
            statistics.median(answered) if answered else float("nan"),
            max(answered, default=float("nan")),
        ]

    say("process start -> ready / -> first answer decrypted by the facilitator (s)")
    header = ["start", "n", "ready p50", "ready max", "answered p50", "answered max"]
    say(
        table(
            header,
            [
                row("cold (new account, empty store)", results.cold),
                row("warm (existing store)", results.warm),
            ],
        )
    )
    say("")
    say(
        f"catch-up: {results.backlog} signals in {results.rooms} rooms sent while the bot was "
        f"down (sending took {results.send_seconds:.0f} s); then process start ->"
    )
    say(
        table(
            [
                "ready",
                "first answer",
                "all answered",
                "answered",
                "named in a burst",
                "burst, unnamed",
                "lost",
                "posted twice",
                "bot messages",
            ],
            [
                [
                    results.catch_up_ready,
                    results.first_answer,
                    results.all_answered,
                    results.threaded,
                    results.named,
                    results.burst,
                    results.lost,
                    results.duplicates,
                    results.bot_messages,
                ]
            ],
        )
    )
    say(
        "answered = a reply threaded to the signal; named in a burst = named in a reply "
        "threaded to another signal; burst, unnamed = only a later reply threaded to another "
        "signal (the sender cannot find it); lost = none of these (must be 0)"
    )
    say(phases_line(results.phases))
    return results.lost == 0 and results.duplicates == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="cold starts")
    parser.add_argument("--warm", type=int, default=5, help="warm starts")
    parser.add_argument("--backlog", type=int, default=500, help="signals sent while down")
    parser.add_argument("--rooms", type=int, default=10, help="rooms the backlog is spread over")
    parser.add_argument(
        "--quick", action="store_true", help="1 cold, 2 warm, 50 signals in 2 rooms"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    args = parser.parse_args()
    if args.quick:
        args.cold, args.warm, args.backlog, args.rooms = 1, 2, 50, 2
    results = Results()

    def work(w: World) -> Awaitable[None]:
        return run(
            w,
            cold=max(args.cold, 1),
            warm=args.warm,
            backlog=args.backlog,
            rooms=args.rooms,
            results=results,
        )

    return run_main("startup", args.keep, work, lambda: report(results))


if __name__ == "__main__":
    sys.exit(main())
