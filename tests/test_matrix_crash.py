"""Kill the bot process mid-burst, restart it, and find every signal applied exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections import Counter
from pathlib import Path

import aiosqlite
import pytest

from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message
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
