"""The consumer: commit first, then reply; the sync position only after what came before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from scorebot.core.fairness import Fairness, FairnessSettings
from scorebot.core.model import Join, Minutes, Person, Settings, Signal, Source
from scorebot.core.render import Reply
from scorebot.matrix.consumer import ConsumerSettings, consume, handle
from scorebot.matrix.items import SYNC_TOKEN, Inbound, Item, Notice, SyncMarker
from scorebot.store.memory import MemoryStore

ROOM = "!meeting:example.org"
ALICE = Person("@alice:example.org", "Alice")
BOT = Person("@scorebot:example.org", "scorebot")
SETTINGS = ConsumerSettings(defaults=Settings(), bot=BOT)


@dataclass
class FakeOutbox:
    sent: list[tuple[Inbound, list[Reply], Reply | None]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    async def send(self, item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> None:
        self.sent.append((item, list(replies), overview))

    async def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


def join(key: str, who: Person = ALICE) -> Inbound:
    signal = Signal(key=key, sender=who, cue=Join(), source=Source.CHAT, at=1000.0)
    return Inbound(signal, ROOM, ROOM, key)


async def test_a_committed_signal_is_answered_with_the_stack_overview() -> None:
    store, outbox = MemoryStore(), FakeOutbox()

    await handle(join("$1"), store, outbox, SETTINGS)

    [(item, replies, overview)] = outbox.sent
    assert item.signal.key == "$1"
    assert await store.seen("$1")
    assert any("Alice" in reply.text for reply in replies)
    assert overview is not None and "Alice" in overview.text


async def test_a_replayed_signal_is_neither_applied_nor_answered_again() -> None:
    store, outbox = MemoryStore(), FakeOutbox()

    await handle(join("$1"), store, outbox, SETTINGS)
    await handle(join("$1"), store, outbox, SETTINGS)

    assert len(outbox.sent) == 1


async def test_the_sync_position_is_saved_only_when_its_marker_is_reached() -> None:
    store, outbox = MemoryStore(), FakeOutbox()
    inbox: asyncio.Queue[Item] = asyncio.Queue()
    for item in (
        join("$1"),
        SyncMarker("s1"),
        join("$2", Person("@bob:x", "Bob")),
        SyncMarker("s2"),
    ):
        inbox.put_nowait(item)
    consumer = asyncio.create_task(consume(inbox, store, outbox, SETTINGS))

    await asyncio.wait_for(inbox.join(), 5)
    consumer.cancel()

    assert await store.get_value(SYNC_TOKEN) == "s2"
    assert [item.signal.key for item, _, _ in outbox.sent] == ["$1", "$2"]


async def test_a_notice_goes_out_as_is() -> None:
    store, outbox = MemoryStore(), FakeOutbox()
    notice = Notice(ROOM, "I could not read your last message.")

    await handle(notice, store, outbox, SETTINGS)

    assert outbox.notices == [notice]
    assert outbox.sent == []


class FailingStore(MemoryStore):
    """A store whose disk fills up after the first commit."""

    async def apply(self, key: str, before: object, after: object, records: object) -> bool:  # type: ignore[override]
        if self.processed:
            raise OSError("disk full")
        return await super().apply(key, before, after, records)  # type: ignore[arg-type]


class BrokenOutbox(FakeOutbox):
    async def send(self, item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> None:
        raise RuntimeError("homeserver went away")


async def test_an_uncommitted_signal_stops_the_consumer_before_the_sync_position_moves() -> None:
    store, outbox = FailingStore(), FakeOutbox()
    inbox: asyncio.Queue[Item] = asyncio.Queue()
    for item in (join("$1"), SyncMarker("t1"), join("$2", BOT), SyncMarker("t2")):
        inbox.put_nowait(item)

    consumer = asyncio.create_task(consume(inbox, store, outbox, SETTINGS))
    done, _ = await asyncio.wait([consumer], timeout=5)

    assert consumer in done and isinstance(consumer.exception(), OSError)
    assert await store.get_value(SYNC_TOKEN) == "t1"  # a restart replays $2
    assert not await store.seen("$2")


async def test_a_reply_that_cannot_be_sent_does_not_stop_the_meeting() -> None:
    store, outbox = MemoryStore(), BrokenOutbox()

    await handle(join("$1"), store, outbox, SETTINGS)
    await handle(join("$2", BOT), store, outbox, SETTINGS)

    assert await store.seen("$1") and await store.seen("$2")


async def test_asking_for_minutes_posts_the_minutes_themselves() -> None:
    store, outbox = MemoryStore(), FakeOutbox()
    await handle(join("$1"), store, outbox, SETTINGS)
    asked = Signal(key="$2", sender=ALICE, cue=Minutes(), source=Source.CHAT, at=1001.0)

    await handle(Inbound(asked, ROOM, ROOM, "$2"), store, outbox, SETTINGS)

    _, replies, _ = outbox.sent[-1]
    document = next(reply for reply in replies if reply.kind == "minutes_document")
    assert "# Minutes" in document.text and "Alice joined the stack" in document.text
    assert "Alice joined the stack" in document.html


async def test_a_flood_of_signals_and_unclear_messages_from_one_sender_is_skipped_once_said() -> (
    None
):
    store, outbox = MemoryStore(), FakeOutbox()
    fairness = Fairness(FairnessSettings(burst=3, refill=10.0))
    mallory = Person("@mallory:example.org", "Mallory")

    for n in range(20):
        await handle(join(f"$j{n}", mallory), store, outbox, SETTINGS, fairness)
    for n in range(20):
        unclear = Notice(ROOM, "Try: stack.", reply_to=f"$u{n}", sender=mallory.id, at=1000.0)
        await handle(unclear, store, outbox, SETTINGS, fairness)
    await handle(join("$ann", Person("@ann:example.org", "Ann")), store, outbox, SETTINGS, fairness)

    told = [n for n in outbox.notices if "faster than I can take them" in n.text]
    assert [item.signal.key for item, _, _ in outbox.sent] == ["$j0", "$j1", "$j2", "$ann"]
    # Started the meeting and joined; already on; the same again stays unsaid; joined.
    assert [len(replies) for _, replies, _ in outbox.sent] == [2, 1, 0, 1]
    assert len(told) == 1 and "Mallory" in told[0].text
    assert [n for n in outbox.notices if n.text == "Try: stack."] == []
    assert not await store.seen("$j3")
