"""The consumer: replies committed with their signal, then sent; checkpoints in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from scorebot.app.clock import clock
from scorebot.app.consumer import Consumer, ConsumerSettings
from scorebot.app.items import (
    SYNC_POSITION,
    Checkpoint,
    Inbound,
    InRoom,
    Item,
    MemoryWrite,
    Notice,
    Private,
    Skipped,
)
from scorebot.app.ports import Outgoing, OutKind, ToPerson, ToRoom
from scorebot.core.fairness import Fairness, FairnessSettings
from scorebot.core.minutes import Record
from scorebot.core.model import (
    Join,
    Meeting,
    Minutes,
    Next,
    Person,
    Priority,
    Settings,
    Signal,
    Source,
    Tick,
)
from scorebot.store.memory import MemoryStore

ROOM = "!meeting:example.org"
DM = "!dm:example.org"
ALICE = Person("@alice:example.org", "Alice")
BOB = Person("@bob:example.org", "Bob")
BOT = Person("@scorebot:example.org", "scorebot")
SETTINGS = ConsumerSettings(defaults=Settings(), bot=BOT)


@dataclass
class FakeSender:
    posted: list[Outgoing] = field(default_factory=list)

    def post(self, messages: Sequence[Outgoing]) -> None:
        self.posted.extend(messages)


def join(key: str, who: Person = ALICE) -> Inbound:
    signal = Signal(key=key, sender=who, cue=Join(), source=Source.CHAT, at=1000.0)
    return Inbound(signal, ROOM, InRoom(key))


def consumer(store: MemoryStore | None = None) -> tuple[Consumer, MemoryStore, FakeSender]:
    store = store or MemoryStore()
    sender = FakeSender()
    return Consumer(store, sender, SETTINGS), store, sender


async def test_a_signals_replies_are_committed_with_it_before_they_are_handed_out() -> None:
    app, store, sender = consumer()

    await app.handle(join("$1"))

    [answer, overview] = sender.posted
    assert await store.seen("$1")
    assert [pending.outgoing for pending in await store.unsent()] == sender.posted
    assert answer.target == ToRoom(ROOM) and answer.reply_to == "$1"
    assert answer.answers == ALICE.id and "Alice" in answer.text
    assert overview.kind is OutKind.OVERVIEW and "Alice" in overview.text
    assert answer.txn != overview.txn


async def test_a_replayed_signal_is_neither_applied_nor_answered_again() -> None:
    app, _, sender = consumer()

    await app.handle(join("$1"))
    await app.handle(join("$1"))

    assert len(sender.posted) == 2


async def test_the_same_signal_gives_the_same_transaction_ids_after_a_restart() -> None:
    first, _, first_sender = consumer()
    second, _, second_sender = consumer()

    await first.handle(join("$1"))
    await second.handle(join("$1"))

    assert [m.txn for m in first_sender.posted] == [m.txn for m in second_sender.posted]


async def test_the_checkpoint_is_saved_only_when_it_is_reached_with_its_memory() -> None:
    app, store, sender = consumer()
    inbox: asyncio.Queue[Item] = asyncio.Queue()
    remembered = MemoryWrite("matrix.sender", "$1", ALICE.id, 10)
    skipped = Skipped("$bad", ROOM, "ValueError: odd", 1000.0)
    for item in (
        join("$1"),
        Checkpoint("s1", (remembered,)),
        join("$2", BOB),
        Checkpoint("s2", (), (skipped,)),
    ):
        inbox.put_nowait(item)
    running = asyncio.create_task(app.run(inbox))

    await asyncio.wait_for(inbox.join(), 5)
    running.cancel()

    assert await store.get_value(SYNC_POSITION) == "s2"
    assert await store.remembered("matrix.sender") == [("$1", ALICE.id)]
    assert await store.skipped() == 1
    assert [m.answers for m in sender.posted if m.answers] == [ALICE.id, BOB.id]


async def test_a_notice_is_queued_once_even_when_its_cause_is_replayed() -> None:
    app, store, sender = consumer()
    notice = Notice("$q", ROOM, "I could not read your last message.", InRoom("$q"))

    await app.handle(notice)
    await app.handle(notice)

    [message] = sender.posted
    assert (message.target, message.reply_to, message.text) == (ToRoom(ROOM), "$q", notice.text)
    assert len(await store.unsent()) == 1


async def test_a_private_notice_goes_to_the_persons_direct_chat() -> None:
    app, _, sender = consumer()

    await app.handle(Notice("$p", ROOM, "Please ask me privately.", Private(ALICE.id)))

    assert [message.target for message in sender.posted] == [ToPerson(ALICE.id)]


async def test_a_private_request_is_answered_in_the_chat_it_came_from() -> None:
    app, _, sender = consumer()
    await app.handle(join("$1", BOB))
    signal = Signal("$p/!m", ALICE, Priority(True), Source.DIRECT, 1001.0)

    await app.handle(Inbound(signal, ROOM, Private(ALICE.id, DM, "$p")))

    private = [m for m in sender.posted if m.target == ToRoom(DM)]
    assert private and all(m.reply_to == "$p" for m in private)
    assert all(
        "priority" not in m.text.casefold() for m in sender.posted if m.target == ToRoom(ROOM)
    )


class FailingStore(MemoryStore):
    """A store whose disk fills up after the first commit."""

    async def apply(
        self,
        key: str,
        before: Meeting,
        after: Meeting,
        records: Sequence[Record],
        outgoing: Sequence[Outgoing] = (),
    ) -> bool:
        if self.processed:
            raise OSError("disk full")
        return await super().apply(key, before, after, records, outgoing)


async def test_an_uncommitted_signal_stops_the_consumer_before_the_checkpoint_moves() -> None:
    app, store, sender = consumer(FailingStore())
    inbox: asyncio.Queue[Item] = asyncio.Queue()
    for item in (join("$1"), Checkpoint("t1"), join("$2", BOB), Checkpoint("t2")):
        inbox.put_nowait(item)

    running = asyncio.create_task(app.run(inbox))
    done, _ = await asyncio.wait([running], timeout=5)

    assert running in done and isinstance(running.exception(), OSError)
    assert await store.get_value(SYNC_POSITION) == "t1"  # a restart replays $2
    assert not await store.seen("$2")
    assert all(BOB.id != m.answers for m in sender.posted)


async def test_the_meeting_is_loaded_from_the_store_once_and_then_kept() -> None:
    loads: list[str] = []

    class CountingStore(MemoryStore):
        async def load(self, room: str) -> Meeting | None:
            loads.append(room)
            return await super().load(room)

    app, store, _ = consumer(CountingStore())
    for index in range(5):
        await app.handle(join(f"${index}", Person(f"@p{index}:x", f"P{index}")))

    assert loads == [ROOM]
    meeting = await store.load(ROOM)
    assert meeting is not None and len(meeting.stack) == 5


async def test_asking_for_minutes_posts_the_minutes_themselves() -> None:
    app, _, sender = consumer()
    await app.handle(join("$1"))
    asked = Signal(key="$2", sender=ALICE, cue=Minutes(), source=Source.CHAT, at=1001.0)

    await app.handle(Inbound(asked, ROOM, InRoom("$2")))

    document = sender.posted[-1]
    assert "# Minutes" in document.text and "Alice joined the stack" in document.text
    assert "Alice joined the stack" in document.html


async def test_the_clock_ticks_only_rooms_where_someone_has_the_floor() -> None:
    store = MemoryStore()
    earlier, _, _ = consumer(store)
    await earlier.handle(join("$1"))
    next_speaker = Signal("$2", ALICE, Next(), Source.CHAT, 1001.0, facilitator=True)
    await earlier.handle(Inbound(next_speaker, ROOM, InRoom("$2")))
    await earlier.handle(Inbound(join("$3").signal, "!quiet:example.org"))
    restarted, _, _ = consumer(store)
    inbox: asyncio.Queue[Item] = asyncio.Queue()

    ticking = asyncio.create_task(clock(inbox, restarted, BOT, 0.0))
    tick = await asyncio.wait_for(inbox.get(), 5)
    ticking.cancel()

    assert isinstance(tick, Inbound) and isinstance(tick.signal.cue, Tick)
    assert tick.room == ROOM and tick.destination == InRoom()
    assert restarted.speaking_rooms() == [ROOM]


async def test_a_flood_of_signals_and_unclear_messages_from_one_sender_is_skipped_once_said() -> (
    None
):
    app, store, sender = consumer()
    app.fairness = Fairness(FairnessSettings(burst=3, refill=10.0))
    mallory = Person("@mallory:example.org", "Mallory")

    for n in range(20):
        await app.take(join(f"$j{n}", mallory))
    for n in range(20):
        unclear = Notice(
            f"$u{n}", ROOM, "Try: stack.", InRoom(f"$u{n}"), sender=mallory.id, at=1000.0
        )
        await app.take(unclear)
    await app.take(join("$ann", Person("@ann:example.org", "Ann")))

    texts = [message.text for message in sender.posted]
    told = [text for text in texts if "faster than I can take them" in text]
    assert len(told) == 1 and "Mallory" in told[0]
    assert "Try: stack." not in texts
    assert [await store.seen(f"$j{n}") for n in range(4)] == [True, True, True, False]
    assert await store.seen("$ann")
    assert any("Ann" in text for text in texts)
