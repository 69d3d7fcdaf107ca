"""The sync callback: what it cannot convert is recorded, what it cannot fetch stops it."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nio
import pytest

from scorebot.app.items import SYNC_POSITION, Checkpoint, Inbound, Item
from scorebot.config import load_config
from scorebot.matrix import bot as bot_module
from scorebot.matrix.bot import GapNotFilledError, MatrixBot
from scorebot.matrix.memory import (
    DIRECT_ROOMS_VALUE,
    REACTIONS_VALUE,
    SENDERS,
    AdapterMemory,
)
from scorebot.store.memory import MemoryStore

BOT = "@scorebot:example.org"
ALICE = "@alice:example.org"
ROOM = "!meeting:example.org"
_numbers = itertools.count()


def message(body: str) -> Any:
    number = next(_numbers)
    return nio.Event.parse_event(
        {
            "type": "m.room.message",
            "sender": ALICE,
            "event_id": f"$m{number}",
            "origin_server_ts": 1_700_000_000_000 + number,
            "content": {"msgtype": "m.text", "body": body},
        }
    )


class FakeClient:
    """Rooms as nio keeps them; /messages fails `failures` times before it answers."""

    def __init__(self, failures: int = 0) -> None:
        self.user_id = BOT
        room = nio.MatrixRoom(ROOM, BOT)
        room.add_member(BOT, "scorebot", None)
        room.add_member(ALICE, "Alice", None)
        room.add_member("@bob:example.org", "Bob", None)
        self.rooms = {ROOM: room}
        self.failures = failures
        self.pages = 0
        self.missed = [message("stack")]
        """what happened while the bot was away: given out once"""

    async def room_messages(self, room_id: str, **_: Any) -> Any:
        self.pages += 1
        if self.failures:
            self.failures -= 1
            return nio.RoomMessagesError("Gateway Timeout", "504")
        chunk, self.missed = self.missed, []
        return nio.RoomMessagesResponse(room_id, chunk, "end", "start")


def sync_response(*events: Any, limited: bool = False) -> Any:
    timeline = SimpleNamespace(events=list(events), limited=limited, prev_batch="p1")
    info = SimpleNamespace(timeline=timeline, state=[])
    return SimpleNamespace(next_batch="s2", rooms=SimpleNamespace(join={ROOM: info}, invite={}))


def new_bot(
    tmp_path: Path, client: FakeClient, store: MemoryStore | None = None
) -> tuple[MatrixBot, asyncio.Queue[Item]]:
    config_path = tmp_path / "scorebot.toml"
    config_path.write_text(
        f'[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "{BOT}"\npassword = "x"\n'
        '[storage]\ndata_dir = "data"\n'
    )
    inbox: asyncio.Queue[Item] = asyncio.Queue()
    config = load_config(config_path)
    bot = MatrixBot(client, config, store or MemoryStore(), inbox, AdapterMemory())
    bot._position = "s1"
    return bot, inbox


def drained(inbox: asyncio.Queue[Item]) -> list[Item]:
    items = []
    while not inbox.empty():
        items.append(inbox.get_nowait())
    return items


async def test_an_event_that_cannot_be_converted_is_recorded_as_skipped_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, inbox = new_bot(tmp_path, FakeClient())
    odd, fine = message("stack"), message("stack")
    real = bot.converter.convert

    def convert(event: Any, *args: Any) -> list[Item]:
        if event is odd:
            raise TypeError("in_reply_to is a list")
        return real(event, *args)

    monkeypatch.setattr(bot.converter, "convert", convert)

    await bot._on_sync(sync_response(odd, fine))

    inbound, checkpoint = drained(inbox)
    assert isinstance(inbound, Inbound) and inbound.signal.key == fine.event_id
    assert isinstance(checkpoint, Checkpoint) and checkpoint.position == "s2"
    [skipped] = checkpoint.skipped
    assert (skipped.event_id, skipped.room) == (odd.event_id, ROOM)
    assert skipped.reason == "TypeError: in_reply_to is a list"
    # The adapter's memory of this response travels with its checkpoint.
    assert {(w.kind, w.key) for w in checkpoint.memory} >= {(SENDERS, fine.event_id)}


async def test_a_gap_is_fetched_again_after_a_passing_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_module, "BACKFILL_RETRY", 0.0)
    client = FakeClient(failures=2)
    bot, inbox = new_bot(tmp_path, client)

    await bot._on_sync(sync_response(message("unstack"), limited=True))

    missed, latest, checkpoint = drained(inbox)
    assert isinstance(missed, Inbound) and isinstance(latest, Inbound)
    assert isinstance(checkpoint, Checkpoint)
    assert client.pages == 4  # two failures, the page, and the empty page that ends it


async def test_a_gap_that_cannot_be_fetched_stops_before_the_position_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_module, "BACKFILL_RETRY", 0.0)
    bot, inbox = new_bot(tmp_path, FakeClient(failures=100))

    with pytest.raises(GapNotFilledError):
        await bot._on_sync(sync_response(message("unstack"), limited=True))

    assert drained(inbox) == []  # no checkpoint: a restart syncs from the old position


async def test_hands_saved_by_an_older_version_move_into_the_table_once(tmp_path: Path) -> None:
    store = MemoryStore()
    await store.set_value(SYNC_POSITION, "s1")
    await store.set_value(REACTIONS_VALUE, json.dumps([["$hand", ROOM, ALICE, True, "_k"]]))
    await store.set_value(DIRECT_ROOMS_VALUE, json.dumps(["!dm:example.org"]))
    bot, _ = new_bot(tmp_path, FakeClient(), store)

    await bot.load_memory()
    bot.memory.lower_hand("$hand")
    await store.checkpoint(SYNC_POSITION, "s2", bot.memory.take_writes(), ())
    restarted, _ = new_bot(tmp_path, FakeClient(), store)
    await restarted.load_memory()

    assert restarted.memory.reactions.get("$hand") is None  # lowered stays lowered
    assert restarted.memory.direct_rooms == {"!dm:example.org"}
    assert await store.get_value(REACTIONS_VALUE) == "[]"
