"""Helpers (no tests) for the Matrix integration tests: a bot config for the test Synapse, rooms."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scorebot.config import Config, load_config
from scorebot.core.minutes import Record
from scorebot.core.model import Meeting
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message
from scorebot.matrix.run import run_bot
from scorebot.store.sqlite import SqliteStore
from tests.conftest import fresh_localpart

BOT_PASSWORD = "bot password for tests"

REPLY_WAIT = 30.0
"""seconds"""


def write_bot_config(
    homeserver: Homeserver, user_id: str, folder: Path, *, extra: str = "", matrix_extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scorebot.toml"
    path.write_text(
        f"""
[matrix]
homeserver = "{homeserver.base_url}"
user_id = "{user_id}"
password = "{BOT_PASSWORD}"
{matrix_extra}
[storage]
data_dir = "data"
[bot]
allowed_inviters = [":{homeserver.server_name}"]
{extra}
"""
    )
    return path


async def register_bot(homeserver: Homeserver) -> str:
    return await homeserver.register(fresh_localpart("scorebot"), BOT_PASSWORD)


@dataclass(frozen=True, slots=True)
class RunningBot:
    user_id: str
    config: Config
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def running_bot(config_path: Path) -> AsyncIterator[RunningBot]:
    """Run the bot in this event loop until the block ends."""
    config = load_config(config_path)
    ready = asyncio.Event()
    task = asyncio.create_task(run_bot(config, ready=ready, clock_interval=1.0))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert ready.is_set(), "the bot did not start within 60 s"
    try:
        yield RunningBot(config.matrix.user_id, config, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def meeting_room(
    owner: Member,
    bot: str,
    *others: Member,
    name: str = "Planning",
    levels: Mapping[str, int] | None = None,
) -> str:
    """An encrypted room `owner` created (a v12 creator: a facilitator); all have joined.

    `levels` gives others power levels (the creator must not appear there in room v12).
    """
    room = await owner.create_room(
        name,
        invite=[bot, *(o.user_id for o in others)],
        power_levels={"users": dict(levels)} if levels else None,
    )
    for other in others:
        await other.join(room)
    for user in [bot, *(o.user_id for o in others)]:
        await owner.wait_member(room, user)
    for other in others:
        await other.wait_member(room, bot)
        for member in [owner, *others]:
            await other.wait_member(room, member.user_id)
    return room


async def say(member: Member, room: str, text: str, bot: str, **kwargs: object) -> Message:
    """Send a message and return the bot's reply to it."""
    event_id = await member.send_text(room, text, **kwargs)  # type: ignore[arg-type]
    return await member.wait_reply_to(event_id, bot, timeout=REPLY_WAIT)


def bot_messages(member: Member, bot: str, room: str) -> list[Message]:
    return [
        r
        for r in member.records
        if isinstance(r, Message) and r.sender == bot and r.room_id == room
    ]


async def stored_meeting(
    database: Path, room: str, number: int = 1
) -> tuple[Meeting, list[Record]]:
    """The meeting state a stopped bot left in its database, with meeting `number`'s minutes."""
    store = await SqliteStore.open(database)
    try:
        meeting = await store.load(room)
        records = await store.minutes(room, number)
    finally:
        await store.close()
    assert meeting is not None, f"no meeting stored for {room}"
    return meeting, records
