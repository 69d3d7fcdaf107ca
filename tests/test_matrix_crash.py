"""Kill the bot process mid-burst, restart it, and find every signal applied exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite
import pytest

from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message, Reaction
from scorebot.store.sqlite import SqliteStore
from tests.conftest import MakeMember
from tests.test_matrix_helpers import meeting_room, register_bot, say, write_bot_config

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]

# Each person's messages, sent in order; people send at the same time as each other.
SCRIPT = {
    "bob": ["stack", "unstack", "stack", "unstack", "stack"],
    "carol": ["stack", "✋", "unstack", "stack", "stack"],
    "dave": ["stack", "unstack", "stack", "unstack", "stack", "unstack"],
    "erin": ["stack", "unstack", "stack", "unstack", "stack"],
}
EXPECTED_ON_STACK = {"bob", "carol", "erin"}
EXPECTED_JOINS = {"bob": 3, "carol": 2, "dave": 3, "erin": 3}


async def _start(config_path: Path, log_path: Path) -> asyncio.subprocess.Process:
    log = log_path.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scorebot",
            "run",
            "--config",
            str(config_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    finally:
        log.close()


async def _stop(process: asyncio.subprocess.Process, how: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(how)
    await asyncio.wait_for(process.wait(), 30)


async def _processed_count(database: Path) -> int:
    async with aiosqlite.connect(database) as db:
        rows = list(await db.execute_fetchall("SELECT count(*) FROM processed"))
    return int(rows[0][0])


async def _send_all(member: Member, room: str, texts: list[str]) -> list[str]:
    return [await member.send_text(room, text) for text in texts]


async def test_bot_killed_mid_burst_applies_every_signal_exactly_once_after_restart(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    config_path = write_bot_config(homeserver, bot_id, tmp_path)
    config = load_config(config_path)
    log_path = tmp_path / "bot.log"
    process = await _start(config_path, log_path)
    try:
        alice = await make_member("alice")
        people = {name: await make_member(name) for name in SCRIPT}
        room = await meeting_room(alice, bot_id, *people.values())
        names = {member.user_id: name for name, member in people.items()}
        await say(alice, room, "start meeting Crash test", bot_id)

        baseline = await _processed_count(config.storage.database)
        sending = asyncio.gather(
            *(_send_all(people[name], room, texts) for name, texts in SCRIPT.items())
        )
        # Kill once a few signals of the burst are committed: the bot is mid-way through it.
        async with asyncio.timeout(60):
            # Another process writes the database; there is no event to wait on but the file.
            while await _processed_count(config.storage.database) < baseline + 4:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await _stop(process, signal.SIGKILL)
        sent = await sending
        burst = [event_id for ids in sent for event_id in ids]
        async with aiosqlite.connect(config.storage.database) as db:
            before = {row[0] for row in await db.execute_fetchall("SELECT key FROM processed")}
        print("committed before the kill:", len(set(burst) & before), "of", len(burst))

        process = await _start(config_path, log_path)
        after = await say(alice, room, "stack?", bot_id)
        await _stop(process, signal.SIGTERM)
    finally:
        if process.returncode is None:
            await _stop(process, signal.SIGKILL)

    async with aiosqlite.connect(config.storage.database) as db:
        rows = await db.execute_fetchall("SELECT key FROM processed")
    processed = Counter(row[0] for row in rows)
    store = await SqliteStore.open(config.storage.database)
    try:
        meeting = await store.load(room)
        records = await store.minutes(room, 1)
    finally:
        await store.close()

    assert isinstance(after, Message) and after.decrypted
    assert [key for key in burst if processed[key] != 1] == []
    assert meeting is not None
    assert {names[entry.person.id] for entry in meeting.stack} == EXPECTED_ON_STACK
    by_display = {uid[1:].split(":", maxsplit=1)[0]: name for uid, name in names.items()}
    joins = Counter(by_display[r.who] for r in records if r.kind == "joined stack")
    assert dict(joins) == EXPECTED_JOINS
    assert "Traceback" not in log_path.read_text()


# ---------------------------------------------------------------- SIGKILL at random points

KILL_ROUNDS = 5
ON_THE_STACK_AFTER_EACH_ROUND = {"bob", "carol", "dave"}
"""each person's burst below ends in the same place, whatever the round started from"""


async def _chat_burst(member: Member, room: str, rng: random.Random) -> list[str]:
    sent = []
    for text in ("stack", "unstack", "stack"):
        sent.append(await member.send_text(room, text))
        await asyncio.sleep(rng.uniform(0, 0.05))
    return sent


async def _hand_burst(
    raise_hand: Callable[[], Awaitable[str]],
    lower_hand: Callable[[str], Awaitable[str]],
    raised: list[str],
    pairs: list[tuple[str, str]],
    rng: random.Random,
) -> list[str]:
    """Lower the hand still up from the round before, raise, lower, raise again.

    The homeserver refuses a second identical reaction while the first stands, as Element
    would never send one. Each (hand, lowering) goes into `pairs`.
    """
    sent = []
    if raised:
        previous = raised.pop()
        sent.append(await lower_hand(previous))
        pairs.append((previous, sent[-1]))
    first = await raise_hand()
    await asyncio.sleep(rng.uniform(0, 0.05))
    lowered = await lower_hand(first)
    pairs.append((first, lowered))
    await asyncio.sleep(rng.uniform(0, 0.05))
    again = await raise_hand()
    raised.append(again)
    return [*sent, first, lowered, again]


async def _outbox(database: Path) -> dict[str, tuple[str, str | None]]:
    """txn -> (kind, event id or None) of every reply the bot committed."""
    async with aiosqlite.connect(database) as db:
        rows = await db.execute_fetchall("SELECT txn, message, event_id FROM outbox")
    return {str(txn): (json.loads(message)["kind"], event_id) for txn, message, event_id in rows}


async def test_bot_killed_at_random_points_of_bursts_applies_each_signal_and_posts_each_reply_once(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    bot_id = await register_bot(homeserver)
    config_path = write_bot_config(homeserver, bot_id, tmp_path)
    database = load_config(config_path).storage.database
    log_path = tmp_path / "bot.log"
    process = await _start(config_path, log_path)
    try:
        alice = await make_member("alice")
        bob, carol, dave, erin = [await make_member(n) for n in ("bob", "carol", "dave", "erin")]
        names = {
            m.user_id: m.user_id[1:].split(":")[0].rstrip("0123456789")
            for m in (bob, carol, dave, erin)
        }
        room = await meeting_room(alice, bot_id, bob, carol, dave, erin)
        await say(alice, room, "start meeting Kill test", bot_id)
        button = await alice.wait_for(
            lambda r: isinstance(r, Reaction) and r.sender == bot_id and r.key == "✋", timeout=30
        )
        assert isinstance(button, Reaction)
        stack_message = button.relates_to
        membership = await dave.join_call(room)
        signals: list[str] = []
        labels: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        carol_hand: list[str] = []
        dave_hand: list[str] = []
        """the reaction that holds each one's hand up, from the round before"""
        for round_ in range(KILL_ROUNDS):
            baseline = await _processed_count(database)
            burst = asyncio.gather(
                _chat_burst(bob, room, rng),
                _hand_burst(
                    lambda: carol.send_reaction(room, stack_message, "✋"),
                    lambda hand: carol.redact(room, hand),
                    carol_hand,
                    pairs,
                    rng,
                ),
                _hand_burst(
                    lambda: dave.raise_hand(room, membership),
                    lambda hand: dave.lower_hand(room, hand),
                    dave_hand,
                    pairs,
                    rng,
                ),
                _chat_burst(erin, room, rng),
            )
            # Kill once some (a random number) of the burst are committed, then a little
            # later still: before, during or after the replies are sent.
            wanted = baseline + rng.randint(1, 9)
            async with asyncio.timeout(60):
                while await _processed_count(database) < wanted:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0, 0.3))
            await _stop(process, signal.SIGKILL)
            for name, ids in zip(("bob", "carol", "dave", "erin"), await burst, strict=True):
                signals.extend(ids)
                labels.update({e: f"{name} {round_}.{n}" for n, e in enumerate(ids)})
            await erin.send_text(room, "unstack")  # erin ends each round off the stack
            process = await _start(config_path, log_path)
            print(f"round {round_}: killed after {wanted - baseline}+ commits")
        # The last run catches up; the answer to this comes after everything before it.
        final = await say(alice, room, "stack?", bot_id)
        async with asyncio.timeout(60):
            while any(event is None for _, event in (await _outbox(database)).values()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await _stop(process, signal.SIGTERM)
    finally:
        if process.returncode is None:
            await _stop(process, signal.SIGKILL)

    async with aiosqlite.connect(database) as db:
        processed = {row[0] for row in await db.execute_fetchall("SELECT key FROM processed")}
    # A hand raised and lowered while the bot was down reaches it already redacted: the
    # homeserver hides the reaction, so neither it nor its lowering is a signal (and the
    # stack is right without them). Any other signal not applied is lost.
    hidden = {
        key
        for hand, lowered in pairs
        if hand not in processed and lowered not in processed
        for key in (hand, lowered)
    }
    lost = [labels[key] for key in signals if key not in processed and key not in hidden]
    assert lost == [], f"seed {seed}: {lost}"
    print(f"signals: {len(signals)}, hidden by a redaction before the bot read them: {len(hidden)}")
    store = await SqliteStore.open(database)
    try:
        meeting = await store.load(room)
    finally:
        await store.close()
    assert meeting is not None
    assert {names[e.person.id] for e in meeting.stack} == ON_THE_STACK_AFTER_EACH_ROUND

    committed = await _outbox(database)
    seen = Counter(
        txn
        for record in alice.records
        if isinstance(record, Message) and record.sender == bot_id and record.room_id == room
        for txn in record.reply_ids
    )
    bot_messages_without_ids = [
        r.body
        for r in alice.records
        if isinstance(r, Message) and r.sender == bot_id and r.room_id == room and not r.reply_ids
    ]
    assert final.reply_ids
    # Every committed reply (but superseded stack overviews) reached the room exactly once;
    # nothing reached it twice, and nothing reached it that was not committed.
    assert {t: n for t, n in seen.items() if n != 1} == {}, f"seed {seed}"
    assert set(seen) <= set(committed), f"seed {seed}"
    missing = [t for t, (kind, _) in committed.items() if kind != "overview" and t not in seen]
    assert missing == [], f"seed {seed}"
    assert bot_messages_without_ids == []
    # And by thread: no message of anyone's got two answers.
    threaded = Counter(
        record.in_reply_to
        for record in alice.records
        if isinstance(record, Message) and record.sender == bot_id and record.in_reply_to
    )
    assert {event: n for event, n in threaded.items() if n > 1} == {}, f"seed {seed}"
    assert "Traceback" not in log_path.read_text()
