"""The private and the Element X channels against a real Synapse, in real encrypted rooms.

An anonymous ouch and a facilitator's mark, both sent in a direct chat, must leave no
trace of who sent them in the meeting room; an encrypted hand reaction (Element X
encrypts reactions) must count like a plain one, and only once when sync replays it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from scorebot.app.items import SYNC_POSITION
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message, Reaction
from scorebot.matrix.signals import Converter
from scorebot.store.sqlite import SqliteStore
from tests.conftest import MakeMember
from tests.test_matrix_helpers import (
    bot_messages,
    meeting_room,
    register_bot,
    running_bot,
    say,
    stored_meeting,
    write_bot_config,
)

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]


def _name(member: Member) -> str:
    return member.user_id[1:].split(":")[0]


def _words(message: Message) -> str:
    return "\n".join(
        part for part in (message.body, message.formatted_body, message.new_body) if part
    )


def _order(status: str, *names: str) -> list[str]:
    """The given names in the order they appear in the waiting list of a status message."""
    waiting = status.rsplit("On the stack", maxsplit=1)[-1]
    return sorted((n for n in names if n in waiting), key=waiting.index)


async def _open_direct_chat(member: Member, bot: str) -> str:
    direct = await member.send_direct(bot)
    await member.wait_member(direct, bot)
    return direct


async def _database_dump(database: Path) -> str:
    async with aiosqlite.connect(database) as db:
        return "\n".join([line async for line in db.iterdump()])


async def test_anonymous_ouch_by_direct_message_shows_in_the_room_as_from_someone(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)) as bot:
        alice = await make_member("alice")
        bob = await make_member("bob")
        room = await meeting_room(alice, bot_id, bob)
        direct = await _open_direct_chat(bob, bot_id)

        confirmed = await say(bob, direct, "ouch", bot_id)
        pinned = await alice.wait_message(
            lambda m: m.sender == bot_id and m.room_id == room and "Ouch noted" in m.body
        )
        probe = await say(alice, room, "stack?", bot_id)
        in_room = bot_messages(alice, bot_id, room)
        database = bot.config.storage.database

    assert confirmed.room_id == direct
    assert confirmed.decrypted
    assert "Your ouch is noted as pin 1" in confirmed.body
    assert "your name is not shown" in confirmed.body
    assert pinned.decrypted
    assert "from someone" in pinned.body
    for message in in_room:
        assert _name(bob) not in _words(message), message
        assert bob.user_id not in _words(message), message
        assert bob.user_id not in message.mentions, message
    assert probe in in_room
    # "The sender is recorded nowhere": not in the meeting, the minutes or anywhere else.
    stored = await _database_dump(database)
    assert "ouch" in stored.casefold()
    assert _name(bob) not in stored


async def test_facilitator_mark_by_direct_message_reorders_the_stack_without_a_trace(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        bob = await make_member("bob")
        carol = await make_member("carol")
        room = await meeting_room(alice, bot_id, bob, carol)
        direct = await _open_direct_chat(alice, bot_id)
        await say(carol, room, "stack", bot_id)
        second = await say(bob, room, "stack", bot_id)
        # The stack message is edited after the answer; let it arrive before counting.
        await alice.wait_message(
            lambda m: m.sender == bot_id and m.replaces is not None and _name(bob) in _words(m)
        )
        before = len(bot_messages(alice, bot_id, room))

        noted = await say(alice, direct, f"mark {_name(bob)} in Planning", bot_id)
        # The order changes only at the next change everyone sees, so the moment of the
        # mark cannot be read from it.
        unchanged = await say(alice, room, "stack?", bot_id)
        joined = await say(alice, room, "stack", bot_id)
        status = await say(alice, room, "stack?", bot_id)
        after = [m for m in bot_messages(alice, bot_id, room)[before:] if m.replaces is None]
        room_words = [
            _words(m) for m in alice.records if isinstance(m, Message) and m.room_id == room
        ]

    assert "2nd of 2" in second.body
    assert noted.room_id == direct
    assert noted.body.startswith(f"Noted, privately: {_name(bob)} has priority")
    assert _order(unchanged.body, _name(bob), _name(carol)) == [_name(carol), _name(bob)]
    assert _order(status.body, _name(bob), _name(carol)) == [_name(bob), _name(carol)]
    assert after == [unchanged, joined, status]
    assert not [w for w in room_words if "priority" in w.casefold() or "mark" in w.casefold()]


async def test_encrypted_hand_reaction_joins_once_even_when_sync_replays_it(
    homeserver: Homeserver,
    make_member: MakeMember,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converted: list[str] = []
    convert = Converter.convert

    def recording_convert(self: Converter, event: Any, *args: Any) -> Any:
        converted.append(str(event.event_id))
        return convert(self, event, *args)

    monkeypatch.setattr(Converter, "convert", recording_convert)
    bot_id = await register_bot(homeserver)
    config_path = write_bot_config(homeserver, bot_id, tmp_path)
    alice = await make_member("alice")
    carol = await make_member("carol")
    async with running_bot(config_path) as bot:
        room = await meeting_room(alice, bot_id, carol)
        await say(alice, room, "stack?", bot_id)
        button = await carol.wait_for(
            lambda r: isinstance(r, Reaction) and r.sender == bot_id and r.room_id == room
        )
        assert isinstance(button, Reaction)
        database = bot.config.storage.database
        async with aiosqlite.connect(database) as db:
            rows = list(
                await db.execute_fetchall("SELECT value FROM kv WHERE name = ?", (SYNC_POSITION,))
            )
        rewound = str(rows[0][0])

        hand = await carol.send_reaction(room, button.relates_to, "✋", encrypted=True)
        joined = await carol.wait_message(
            lambda m: m.sender == bot_id and "hand reaction was seen" in m.body
        )
        left = await say(carol, room, "unstack", bot_id)
        on_the_wire = await alice.wait_reaction(button.relates_to, sender=carol.user_id)
    before = len(bot_messages(alice, bot_id, room))

    # As if the bot had crashed before saving its position: sync hands it all again.
    store = await SqliteStore.open(database)
    try:
        await store.set_value(SYNC_POSITION, rewound)
    finally:
        await store.close()
    converted.clear()
    async with running_bot(config_path):
        probe = await say(alice, room, "stack?", bot_id)
        # Edits of the stack message may trail in from before the restart; answers may not.
        answers = [m for m in bot_messages(alice, bot_id, room)[before:] if m.replaces is None]

    meeting, records = await stored_meeting(database, room)

    assert on_the_wire.event_id == hand
    assert on_the_wire.decrypted, "the hand was meant to be sent encrypted, as Element X does"
    assert joined.decrypted
    assert f"{_name(carol)}, you are on the stack: 1st of 1. Your hand reaction" in joined.body
    assert "left the stack" in left.body
    assert hand in converted, "the restarted bot did not see the reaction again"
    assert not meeting.stack
    assert Counter(r.kind for r in records if r.who == _name(carol)) == {
        "joined stack": 1,
        "left stack": 1,
    }
    assert answers == [probe]
    assert "Nobody is on the stack" in probe.body
