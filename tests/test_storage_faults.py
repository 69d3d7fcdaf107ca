"""A full disk does not stop the bot: it holds what it could not save, says so once in each
running meeting, tries again, and applies everything once when there is room again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scorebot.app.consumer import Consumer, ConsumerSettings
from scorebot.app.items import SYNC_POSITION, Checkpoint, Inbound, InRoom
from scorebot.app.ports import StorageError
from scorebot.core.model import Join, Meeting, Person, Settings, Signal, Source, StartMeeting
from scorebot.core.render import STORAGE_BACK, STORAGE_DOWN
from scorebot.demo.homeserver import Homeserver
from scorebot.store.sqlite import SqliteStore
from tests.conftest import MakeMember
from tests.small_disk import fill, make_room
from tests.test_app_consumer import FakeSender
from tests.test_matrix_helpers import (
    bot_messages,
    meeting_room,
    register_bot,
    running_bot,
    say,
    write_bot_config,
)

ROOM = "!meeting:example.org"
FRAN = Person("@fran:example.org", "Fran")
ALICE = Person("@alice:example.org", "Alice")
BOT = Person("@scorebot:example.org", "scorebot")


def signal(
    key: str, who: Person, cue: Join | StartMeeting, *, facilitator: bool = False
) -> Inbound:
    sent = Signal(key, who, cue, Source.CHAT, at=1000.0, facilitator=facilitator)
    return Inbound(sent, ROOM, InRoom(key))


async def test_a_full_disk_is_a_storage_error_that_changes_nothing(small_disk: Path) -> None:
    store = await SqliteStore.open(small_disk / "scorebot.db")
    try:
        before = Meeting(ROOM)
        fill(small_disk)

        with pytest.raises(StorageError):
            await store.apply("$1", before, Meeting(ROOM, title="kept"), [])
        with pytest.raises(StorageError):
            await store.set_value(SYNC_POSITION, "s1")

        make_room(small_disk)
        assert not await store.seen("$1")
        assert await store.load(ROOM) is None
        assert await store.apply("$1", before, Meeting(ROOM, title="kept"), [])
        assert await store.apply("$1", before, Meeting(ROOM, title="kept"), []) is False
    finally:
        await store.close()


async def test_the_consumer_holds_what_it_cannot_save_and_tells_the_meeting_once(
    small_disk: Path,
) -> None:
    store = await SqliteStore.open(small_disk / "scorebot.db")
    sender = FakeSender()
    consumer = Consumer(store, sender, ConsumerSettings(defaults=Settings(), bot=BOT))
    try:
        await consumer.handle(signal("$start", FRAN, StartMeeting("budget"), facilitator=True))
        sender.posted.clear()
        fill(small_disk)

        joining = asyncio.create_task(
            consumer.handle_until_saved(signal("$alice", ALICE, Join()), first_retry=0.05)
        )
        await asyncio.sleep(0.6)  # the first try and several more fail meanwhile
        assert not joining.done()
        assert [message.text for message in sender.posted] == [STORAGE_DOWN]
        assert not await store.seen("$alice")

        make_room(small_disk)
        await asyncio.wait_for(joining, timeout=30)
        await consumer.handle_until_saved(Checkpoint("s2", (), ()), first_retry=0.05)
    finally:
        await store.close()

    texts = [message.text for message in sender.posted]
    assert texts[0] == STORAGE_DOWN and texts.count(STORAGE_DOWN) == 1
    assert texts.count(STORAGE_BACK) == 1
    assert "Alice, you are on the stack: 1st of 1." in texts
    again = await SqliteStore.open(small_disk / "scorebot.db")
    try:
        assert await again.seen("$alice")
        assert await again.get_value(SYNC_POSITION) == "s2"
        meeting = await again.load(ROOM)
        assert meeting is not None and [e.person for e in meeting.stack] == [ALICE]
    finally:
        await again.close()


@pytest.mark.synapse
@pytest.mark.asyncio(loop_scope="session")
async def test_a_running_bot_on_a_full_disk_stays_up_says_so_and_answers_once_there_is_room(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path, small_disk: Path
) -> None:
    bot_id = await register_bot(homeserver)
    config = write_bot_config(homeserver, bot_id, tmp_path)
    text = config.read_text().replace(
        'data_dir = "data"', f'data_dir = "data"\ndatabase = "{small_disk / "scorebot.db"}"'
    )
    config.write_text(text)
    async with running_bot(config) as bot:
        fran = await make_member("fran")
        alice = await make_member("alice")
        room = await meeting_room(fran, bot_id, alice)
        await say(fran, room, "start meeting budget", bot_id)
        fill(small_disk)

        asked = await alice.send_text(room, "stack")
        trouble = await alice.wait_message(lambda m: m.sender == bot_id and m.body == STORAGE_DOWN)
        assert not bot.task.done()
        make_room(small_disk)
        back = await alice.wait_message(lambda m: m.sender == bot_id and m.body == STORAGE_BACK)
        answer = await alice.wait_reply_to(asked, bot_id)
        await say(alice, room, "status", bot_id)

    assert trouble.decrypted and back.decrypted
    assert "on the stack" in answer.body
    said = [m.body for m in bot_messages(alice, bot_id, room)]
    assert said.count(STORAGE_DOWN) == 1 and said.count(STORAGE_BACK) == 1
    store = await SqliteStore.open(small_disk / "scorebot.db", read_only=True)
    try:
        meeting = await store.load(room)
    finally:
        await store.close()
    assert meeting is not None and [e.person.id for e in meeting.stack] == [alice.user_id]
