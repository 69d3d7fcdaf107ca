"""Many encrypted meetings at once: scorebot under a rising sustained rate of signals.

Run: .venv/bin/python -m bench.load [--rooms 100] [--pool 24] [--rates 2,5,10,20,30,40]
     [--step 60] [--quick] [--keep]

One throwaway Synapse on 127.0.0.1 (its rate limits set to 1000/s for everyone, see
scorebot.demo.homeserver), scorebot as `python -m scorebot run --config ...`, and in this
process the facilitator and a pool of member accounts as E2EE clients. Each room is
encrypted and has 5 people: the facilitator (in every room, and the observer who times
the answers) and 4 members of the pool (shared between rooms, so that the number of
syncing clients stays feasible on 2 cores). Distinct accounts: 1 + pool + the bot.

Each step sends signals at a fixed rate for `--step` seconds (open loop: a signal goes out
on schedule whether or not earlier ones were answered), to random rooms, by random
members: "stack" when the bench thinks they are off the stack (a third of them as a ✋
reaction on the bot's stack message, as Element's reaction button sends it), "unstack"
when on it, "next" by the facilitator, "ouch" and "oops". After each step there is a
10 s pause in which the step's answers may still arrive; the steps stop after the one in
which the bot fell behind (p95 over 2 s, or more than 1 % unanswered after the pause).

A signal's answer is found in the facilitator's timeline as `bench.harness.match_answers`
says (threaded to it, or naming its sender in a coalesced burst, ...). Latency = from just before
the member sends until the facilitator's client has the answer decrypted; `server` =
between the server timestamps of the signal and of the answer. CPU is a share of one core
over the step (1.00 = a whole core) for the bot, Synapse, this bench process (all the
clients) and the whole machine (other people's work included).

`--floor` runs the same load against the floor instead of scorebot: the minimal echo bot of
`bench.latency` (decrypt, reply, nothing else), with every "stack" typed (it has no stack
message to react to). What the floor cannot sustain either is the homeserver's limit, not
scorebot's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.answers import Answer, Sent, TimedMember, match_answers
from bench.harness import Say, World, lapper, percentile, phases_line, run_main, table, until
from bench.procs import BotProcess, Usage, proc_sample
from scorebot.demo.member import MemberError, Message, Reaction, Record

HAND = "\u270b"
"""✋, what the bot puts on its stack message and members click"""

PAUSE = 10.0
"""seconds after a step for its answers to arrive"""

BEHIND_P95 = 2.0
"""seconds: a step whose p95 is over this fell behind"""

BEHIND_UNANSWERED = 0.01
"""share of a step's signals still unanswered after the pause that means it fell behind"""

TARGET_RATE = 20.0
TARGET_P95 = 0.5
TARGET_MEMORY = 150 * 2**20

IN_FLIGHT = 48
"""sends in flight at once; more waiting means this process could not keep the rate"""

JOIN_WAIT = 120.0
DRAIN_WAIT = 900.0
"""seconds at most after the last step for the answers still owed"""

QUIET = 20.0
"""seconds without any message from the bot after which what is unanswered counts as lost"""


class Observer(TimedMember):
    """The facilitator's client: also notes each room's stack message (the bot's ✋)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.bot = ""
        """the bot's user id, set once logged in"""
        self.stack_message: dict[str, str] = {}

    def _record(self, record: Record) -> None:
        if isinstance(record, Reaction) and record.sender == self.bot and record.key == HAND:
            self.stack_message[record.room_id] = record.relates_to
        super()._record(record)


@dataclass(slots=True)
class Room:
    room_id: str
    members: list[TimedMember]
    on_stack: set[str] = field(default_factory=set)
    hands: set[tuple[str, str]] = field(default_factory=set)
    """(stack message, user id) already reacted with ✋"""


@dataclass(slots=True)
class Step:
    rate: float
    seconds: float
    sent: list[tuple[Sent, str]] = field(default_factory=list)
    """each signal with its kind"""
    late_sends: int = 0
    """signals sent over 0.1 s after their time (this process fell behind, not the bot)"""
    failed: list[str] = field(default_factory=list)
    """sends the homeserver refused (not signals: they never reached the bot)"""
    cpu: dict[str, float] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    unanswered_after_pause: int = 0

    def behind(self) -> bool:
        if not self.sent:
            return False
        p95 = percentile([a.latency for a in self.answers if a.reply is not None], 0.95)
        unanswered = self.unanswered_after_pause / len(self.sent)
        return p95 > BEHIND_P95 or unanswered > BEHIND_UNANSWERED


@dataclass(slots=True)
class Results:
    floor: bool = False
    """the load ran on the echo bot, not scorebot"""
    rooms: int = 0
    accounts: int = 0
    steps: list[Step] = field(default_factory=list)
    peak_rss: int = 0
    rss_end: int = 0
    lost: int = 0
    duplicates: int = 0
    extra: int = 0
    named: int = 0
    burst: int = 0
    total: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    lost_kinds: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    """times the bot's log says Synapse rate-limited a send (must stay 0: limits are off)"""
    phases: dict[str, float] = field(default_factory=dict)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


async def setup(
    w: World, rooms: int, pool: int, lap: Say, floor: bool = False
) -> tuple[BotProcess, Observer, list[Room]]:
    names = [f"u{n:03d}" for n in range(pool)]
    await w.register(["scorebot", "fran", *names])
    bot = await (w.start_echo("scorebot") if floor else w.start_scorebot("scorebot"))
    bot_id = w.ids["scorebot"]
    fran = await Observer.login(
        w.homeserver.base_url, w.ids["fran"], w.passwords["fran"], w.workdir / "members" / "fran"
    )
    w.stack.push_async_callback(fran.close)
    assert isinstance(fran, Observer)
    fran.bot = bot_id
    people = await w.login(names)
    lap(f"{pool + 2} accounts, bot started, {pool + 1} clients logged in")

    made: list[Room] = []
    limit = asyncio.Semaphore(8)

    async def make(index: int) -> None:
        members = [people[(4 * index + k) % pool] for k in range(4)]
        async with limit:
            room_id = await fran.create_room(
                f"Load {index}", invite=[bot_id, *(m.user_id for m in members)]
            )
            await asyncio.gather(*(m.join(room_id) for m in members))
        made.append(Room(room_id, members))

    await asyncio.gather(*(make(index) for index in range(rooms)))
    for room in made:
        await bot.unless_dead(fran.wait_member(room.room_id, bot_id, timeout=JOIN_WAIT), "join")
    lap(f"{rooms} rooms made, the bot joined them")

    # First messages set up Olm sessions and share room keys; meetings start.
    async def warm(room: Room) -> None:
        async with limit:
            await asyncio.gather(*(m.send_text(room.room_id, "hello") for m in room.members))
            event_id = await fran.send_text(room.room_id, "start meeting Load")
            await bot.unless_dead(
                fran.wait_reply_to(event_id, sender=bot_id, timeout=JOIN_WAIT), "meeting start"
            )

    await asyncio.gather(*(warm(room) for room in made))
    # Without a stack message (the bot's ✋ on it) in a room, its joins are all typed.
    with contextlib.suppress(TimeoutError):
        if not floor:
            await until(lambda: len(fran.stack_message) >= rooms, 30.0, "stack messages", 0.5)
    await asyncio.sleep(3.0)
    lap("warm-up: first messages, meetings started")
    return bot, fran, made


def choose(rng: random.Random, room: Room, fran: Observer) -> tuple[TimedMember, str, str]:
    """(who, kind, text): kind is stack / hand / unstack / next / ouch / oops; for a hand,
    text is the message to react to."""
    roll = rng.random()
    if roll < 0.15:
        return fran, "next", "next"
    member = rng.choice(room.members)
    if roll < 0.22:
        return member, "ouch", "ouch"
    if roll < 0.29:
        return member, "oops", "oops"
    if member.user_id in room.on_stack:
        room.on_stack.discard(member.user_id)
        return member, "unstack", "unstack"
    room.on_stack.add(member.user_id)
    target = fran.stack_message.get(room.room_id)
    # One ✋ per person per message: the server refuses the same reaction twice.
    if rng.random() < 1 / 3 and target is not None and (target, member.user_id) not in room.hands:
        room.hands.add((target, member.user_id))
        return member, "hand", target
    return member, "stack", "stack"


async def run_step(step: Step, rooms: list[Room], fran: Observer, rng: random.Random) -> None:
    """Send `step.rate` signals a second for `step.seconds`, each on its own task."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    tasks: list[asyncio.Task[None]] = []

    async def send(room: Room, member: TimedMember, kind: str, text: str, due: float) -> None:
        async with slots:
            if time.monotonic() > due + 0.1:
                step.late_sends += 1
            started = time.monotonic()
            try:
                if kind == "hand":
                    event_id = await member.send_reaction(room.room_id, text, HAND)
                else:
                    event_id = await member.send_text(room.room_id, text)
            except MemberError as error:
                step.failed.append(str(error))
                return
            step.sent.append((Sent(room.room_id, event_id, member.user_id, started), kind))

    start = time.monotonic()
    count = int(step.rate * step.seconds)
    for index in range(count):
        due = start + index / step.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        room = rng.choice(rooms)
        member, kind, text = choose(rng, room, fran)
        tasks.append(asyncio.create_task(send(room, member, kind, text, due)))
    await asyncio.gather(*tasks)


async def drain(fran: Observer, bot_id: str, everything: list[Sent]) -> None:
    """Wait until every signal has an answer, or the bot has sent nothing for `QUIET`
    seconds (what is unanswered then is lost), at most `DRAIN_WAIT`; then `QUIET` more
    for anything posted twice."""

    def bot_messages() -> int:
        return sum(1 for r in fran.records if isinstance(r, Message) and r.sender == bot_id)

    loop_until = time.monotonic() + DRAIN_WAIT
    seen, quiet_since = bot_messages(), time.monotonic()
    while time.monotonic() < loop_until:
        if all(a.reply is not None for a in match_answers(fran, bot_id, everything)):
            break
        if bot_messages() != seen:
            seen, quiet_since = bot_messages(), time.monotonic()
        elif time.monotonic() - quiet_since > QUIET:
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(QUIET)


async def run(w: World, settings: argparse.Namespace, results: Results) -> None:
    lap = lapper(results.phases)
    bot, fran, rooms = await setup(w, settings.rooms, settings.pool, lap, settings.floor)
    results.rooms, results.accounts = settings.rooms, settings.pool + 2
    bot_id = w.ids["scorebot"]
    synapse = w.synapse_pid()
    pids = {"bot": bot.pid, "bench": os.getpid()}
    if synapse is not None:
        pids["synapse"] = synapse
    rng = random.Random(7)
    everything: list[Sent] = []
    for rate in settings.rates:
        step = Step(rate, settings.step)
        usage = Usage(pids)
        usage.begin()
        busy0, total0 = machine_busy()
        await bot.unless_dead(run_step(step, rooms, fran, rng), f"the {rate}/s step")
        step.cpu = usage.cpu_share()
        busy1, total1 = machine_busy()
        step.cpu["machine"] = (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1)
        await asyncio.sleep(PAUSE)
        sent = [s for s, _ in step.sent]
        everything.extend(sent)
        step.answers = match_answers(fran, bot_id, sent)
        step.unanswered_after_pause = sum(a.reply is None for a in step.answers)
        results.steps.append(step)
        lap(f"{rate}/s step")
        if step.behind():
            break

    await drain(fran, bot_id, everything)
    sample = proc_sample(bot.pid)
    if sample is not None:
        results.peak_rss, results.rss_end = sample.peak_rss, sample.rss
    answers = match_answers(fran, bot_id, everything)
    by_id = {a.sent.event_id: a for a in answers}
    for step in results.steps:
        step.answers = [by_id[s.event_id] for s, _ in step.sent]
        for _, kind in step.sent:
            results.kinds[kind] = results.kinds.get(kind, 0) + 1
    results.total = len(answers)
    results.rate_limited = bot.log.read_text(errors="replace").count("rate limited")
    results.lost = sum(a.reply is None for a in answers)
    kinds = {s.event_id: kind for step in results.steps for s, kind in step.sent}
    for answer in answers:
        if answer.reply is None:
            kind = kinds[answer.sent.event_id]
            results.lost_kinds[kind] = results.lost_kinds.get(kind, 0) + 1
    results.named = sum(a.how == "named" for a in answers)
    results.burst = sum(a.how == "burst" for a in answers)
    results.duplicates = sum(a.duplicates for a in answers)
    results.extra = sum(a.extra for a in answers)
    lap("drain")


def report(results: Results, say: Say = print) -> bool:
    rows = []
    sustained = 0.0
    for step in results.steps:
        answered = [a for a in step.answers if a.reply is not None]
        latencies = [a.latency for a in answered]
        servers = [a.server for a in answered]
        seconds = step.seconds
        p95 = percentile(latencies, 0.95)
        if p95 < TARGET_P95 and len(answered) == len(step.answers):
            sustained = max(sustained, len(step.sent) / seconds)
        rows.append(
            [
                f"{step.rate:g}",
                f"{len(step.sent) / seconds:.1f}",
                f"{len(answered) / seconds:.1f}",
                percentile(latencies, 0.5) * 1e3,
                p95 * 1e3,
                percentile(servers, 0.5) * 1e3,
                percentile(servers, 0.95) * 1e3,
                step.unanswered_after_pause,
                step.late_sends,
                len(step.failed),
                f"{step.cpu.get('bot', float('nan')):.2f}",
                f"{step.cpu.get('synapse', float('nan')):.2f}",
                f"{step.cpu.get('bench', float('nan')):.2f}",
                f"{step.cpu.get('machine', float('nan')):.2f}",
                "BEHIND" if step.behind() else "ok",
            ]
        )
    met = (
        sustained >= TARGET_RATE
        and results.peak_rss < TARGET_MEMORY
        and results.lost == 0
        and results.duplicates == 0
    )
    say(
        f"sustained with p95 < {TARGET_P95 * 1e3:.0f} ms: {sustained:.1f} signals/s "
        f"(target >= {TARGET_RATE:g}); bot peak memory {results.peak_rss / 2**20:.0f} MB "
        f"(target < {TARGET_MEMORY / 2**20:.0f}); lost {results.lost}, posted twice "
        f"{results.duplicates} (must be 0) -> {'met' if met else 'NOT met'}"
    )
    say(
        ("the FLOOR (a minimal echo bot), not scorebot; " if results.floor else "")
        + f"{results.rooms} encrypted rooms x 5 people (facilitator + 4 of a shared pool); "
        f"{results.accounts} distinct accounts + the bot; {PAUSE:.0f} s pause after each step"
    )
    header = [
        "rate/s",
        "sent/s",
        "answered/s",
        "p50 ms",
        "p95 ms",
        "server p50",
        "server p95",
        "unanswered",
        "late sends",
        "refused",
        "CPU bot",
        "synapse",
        "bench",
        "machine",
        "",
    ]
    say(table(header, rows))
    say(
        f"all {results.total} signals: lost {results.lost}, posted twice {results.duplicates}, "
        f"further answers threaded to one signal {results.extra}, answered inside another's "
        f"message (named) {results.named}, only in a later burst message threaded to another "
        f"signal, not named (the sender cannot find it) {results.burst}; kinds: "
        + ", ".join(f"{k} {v}" for k, v in sorted(results.kinds.items()))
        + "; lost by kind: "
        + (", ".join(f"{k} {v}" for k, v in sorted(results.lost_kinds.items())) or "none")
    )
    say(
        f"bot memory: peak RSS {results.peak_rss / 2**20:.0f} MB, at the end "
        f"{results.rss_end / 2**20:.0f} MB; rate-limited sends in the bot's log: "
        f"{results.rate_limited}"
    )
    say(
        "unanswered = still without an answer after the pause; late sends = signals this "
        "process sent over 0.1 s late (its own limit, not the bot's); refused = sends the "
        "homeserver refused (never signals); CPU in cores over the step, "
        "machine = all processes on it (2 cores = saturated)"
    )
    say(phases_line(results.phases))
    return results.lost == 0 and results.duplicates == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--pool", type=int, default=24, help="member accounts shared by rooms")
    parser.add_argument("--rates", default="2,5,10,20,30,40", help="signals/s of each step")
    parser.add_argument("--step", type=float, default=60.0, help="seconds per step")
    parser.add_argument("--quick", action="store_true", help="10 rooms, 2 steps of 15 s")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    parser.add_argument(
        "--floor", action="store_true", help="the same load on a minimal echo bot instead"
    )
    settings = parser.parse_args()
    if settings.quick:
        settings.rooms, settings.pool, settings.rates, settings.step = 10, 8, "2,5", 15.0
    settings.rates = [float(r) for r in str(settings.rates).split(",")]
    results = Results(floor=settings.floor)
    return run_main(
        "load", settings.keep, lambda w: run(w, settings, results), lambda: report(results)
    )


if __name__ == "__main__":
    sys.exit(main())
