"""The sender: answers at once, gathers only a burst, per room, and each reply exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import nio

from scorebot.app.consumer import Consumer, ConsumerSettings
from scorebot.app.items import Inbound, InRoom
from scorebot.app.ports import Outgoing, OutKind, ToRoom
from scorebot.core.model import (
    Join,
    Meeting,
    NewTopic,
    Next,
    Ouch,
    Person,
    Settings,
    Signal,
    Source,
    StartMeeting,
    Status,
)
from scorebot.core.render import RenderContext, render_all
from scorebot.core.step import step
from scorebot.matrix.memory import AdapterMemory
from scorebot.matrix.outbox import REPLY_IDS, MatrixOutbox
from scorebot.store.memory import MemoryStore

ROOM = "!meeting:example.org"
OTHER = "!other:example.org"
FAC = Person("@fac:example.org", "Fran")
ANA = Person("@ana:example.org", "Ana")
BEN = Person("@ben:example.org", "Ben")
BOT = Person("@scorebot:example.org", "scorebot")


@dataclass
class FakeClient:
    """Records what would be sent, keeps one event per transaction id as Synapse does, and
    can hold sends to a room until told to let them through."""

    user_id: str = BOT.id
    should_query_keys: bool = False
    rooms: dict[str, object] = field(default_factory=lambda: {ROOM: object(), OTHER: object()})
    sent: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)
    """(room, type, content, txn) of each event created"""
    held: dict[str, asyncio.Event] = field(default_factory=dict)
    """room -> sends wait for this event"""
    entered: dict[str, asyncio.Event] = field(
        default_factory=lambda: {ROOM: asyncio.Event(), OTHER: asyncio.Event()}
    )
    """room -> set once a send to it started"""
    created: dict[str, asyncio.Event] = field(
        default_factory=lambda: {ROOM: asyncio.Event(), OTHER: asyncio.Event()}
    )
    """room -> set once an event was created in it"""
    calls: int = 0
    by_txn: dict[str, str] = field(default_factory=dict)

    async def room_send(
        self, room: str, event_type: str, content: dict[str, Any], tx_id: str, **_: Any
    ) -> nio.Response:
        self.calls += 1
        self.entered[room].set()
        if room in self.held:
            await self.held[room].wait()
        if tx_id not in self.by_txn:
            self.sent.append((room, event_type, content, tx_id))
            self.by_txn[tx_id] = f"$sent{len(self.sent)}"
            self.created[room].set()
        return nio.RoomSendResponse(self.by_txn[tx_id], room)

    def messages(self, room: str = ROOM) -> list[dict[str, Any]]:
        return [
            content
            for sent_room, kind, content, _ in self.sent
            if sent_room == room and kind == "m.room.message" and "m.new_content" not in content
        ]


def wired(
    client: FakeClient, store: MemoryStore | None = None, edit: bool = True
) -> tuple[Consumer, MatrixOutbox, MemoryStore]:
    store = store or MemoryStore()
    outbox = MatrixOutbox(client, AdapterMemory(), store, edit_stack_message=edit)
    settings = ConsumerSettings(Settings(), BOT, stack_overview=edit)
    return Consumer(store, outbox, settings), outbox, store


def chat(key: str, who: Person, cue: Any, room: str = ROOM, facilitator: bool = False) -> Inbound:
    signal = Signal(key, who, cue, Source.CHAT, 1000.0, facilitator)
    return Inbound(signal, room, InRoom(key))


def signals_until_a_new_topic() -> tuple[Signal, Meeting]:
    meeting = Meeting(ROOM)
    script = [
        (FAC, StartMeeting("Weekly"), True),
        (BEN, Join(), False),
        (FAC, Next(), True),
        (ANA, Ouch(), False),
    ]
    for index, (who, cue, facilitator) in enumerate(script):
        signal = Signal(f"$s{index}", who, cue, Source.CHAT, 1000.0 + index, facilitator)
        meeting, _ = step(meeting, signal)
    return Signal("$topic", FAC, NewTopic("Budget"), Source.CHAT, 1010.0, True), meeting


async def test_one_signals_replies_keep_the_cores_order_in_one_message() -> None:
    signal, meeting = signals_until_a_new_topic()
    _, events = step(meeting, signal)
    text = "\n\n".join(r.text for r in render_all(events, RenderContext.for_signal(signal)))
    client = FakeClient()
    _, outbox, _ = wired(client)
    message = Outgoing("t1", ToRoom(ROOM), OutKind.MESSAGE, text, text, (), "$topic")

    outbox.post([message])
    await outbox.idle()

    [content] = client.messages()
    body = content["body"]
    assert body.index("Ben's turn ended") < body.index("open ouch") < body.index("New topic")
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$topic"}}
    assert content[REPLY_IDS] == ["t1"]


async def test_the_first_reply_goes_out_at_once_and_a_burst_behind_it_goes_out_together() -> None:
    client = FakeClient(held={ROOM: asyncio.Event()})
    app, outbox, store = wired(client, edit=False)
    people = [Person(f"@p{n}:example.org", f"Person{n}") for n in range(20)]

    await app.handle(chat("$0", people[0], Join()))
    await client.entered[ROOM].wait()  # the first is in flight
    for index, person in enumerate(people[1:], start=1):
        await app.handle(chat(f"${index}", person, Join()))
    client.held[ROOM].set()
    await outbox.idle()

    first, burst = client.messages()
    assert "Person0" in first["body"] and first["m.relates_to"]["m.in_reply_to"]["event_id"] == "$0"
    for person in people[1:]:
        assert person.name in burst["body"]
        assert person.id in burst["m.mentions"]["user_ids"]
    assert len(burst[REPLY_IDS]) == 19
    assert await store.unsent() == []


async def test_in_a_burst_everyone_answered_is_named_in_the_message_even_the_facilitator() -> None:
    client = FakeClient(held={ROOM: asyncio.Event()})
    app, outbox, _ = wired(client, edit=False)
    await app.handle(chat("$start", FAC, StartMeeting("Weekly"), facilitator=True))
    await client.entered[ROOM].wait()  # the first is in flight: what follows goes together
    await app.handle(chat("$ana", ANA, Join()))
    await app.handle(chat("$next", FAC, Next(), facilitator=True))
    client.held[ROOM].set()
    await outbox.idle()

    burst = client.messages()[-1]
    parts = burst["body"].split("\n\n")
    assert any(part.startswith("Ana") for part in parts), parts
    # "Ana has the floor" does not name who called her: the part says it is fac's answer.
    assert any(part.startswith("fac: ") for part in parts), parts
    assert {ANA.id, FAC.id} <= set(burst["m.mentions"]["user_ids"])


async def test_a_busy_room_does_not_delay_another_room() -> None:
    client = FakeClient(held={ROOM: asyncio.Event()})
    app, outbox, _ = wired(client, edit=False)

    await app.handle(chat("$a", ANA, Join()))
    await app.handle(chat("$b", BEN, Join(), room=OTHER))
    await client.created[OTHER].wait()  # while the first room's send is still held

    assert client.messages(ROOM) == []
    client.held[ROOM].set()
    await outbox.idle()
    assert len(client.messages(ROOM)) == 1


async def test_the_stack_message_is_edited_not_posted_again() -> None:
    client = FakeClient()
    app, outbox, _ = wired(client)

    await app.handle(chat("$a", ANA, Join()))
    await outbox.idle()
    await app.handle(chat("$b", BEN, Join()))
    await outbox.idle()

    edits = [c for _, kind, c, _ in client.sent if "m.new_content" in c]
    hands = [c for _, kind, c, _ in client.sent if kind == "m.reaction"]
    assert len(edits) == 1 and "Ben" in edits[0]["m.new_content"]["body"]
    assert len(hands) == 1  # the hand button under the one stack message
    answers, stack_message = client.messages()[0], client.messages()[1]
    assert "Ana" in answers["body"] and "Ana" in stack_message["body"]
    assert len(client.messages()) == 3  # Ana's answer, the stack message, Ben's answer


async def test_a_reply_committed_but_not_sent_is_sent_once_on_the_next_start() -> None:
    client = FakeClient(held={ROOM: asyncio.Event()})
    app, outbox, store = wired(client, edit=False)
    await app.handle(chat("$a", ANA, Join()))
    await client.entered[ROOM].wait()
    await outbox.close()  # "crash" with the send in flight: the homeserver may have it

    restarted = MatrixOutbox(client, AdapterMemory(), store, edit_stack_message=False)
    client.held.clear()
    await restarted.start()
    await restarted.idle()

    [content] = client.messages()
    assert "Ana" in content["body"]
    assert await store.unsent() == []
    assert client.calls == 2  # sent again with the same id; the homeserver kept one


async def test_a_recorded_batch_is_resent_as_one_event_under_its_own_id_after_a_restart() -> None:
    store = MemoryStore()
    replies = [
        Outgoing(f"t{n}", ToRoom(ROOM), OutKind.MESSAGE, f"reply {n}", f"reply {n}")
        for n in range(3)
    ]
    await store.queue(replies)
    await store.record_batch("t0+3", ["t0", "t1", "t2"])
    for homeserver_had_it in (False, True):
        client = FakeClient()
        if homeserver_had_it:
            client.by_txn["t0+3"] = "$before"
        outbox = MatrixOutbox(client, AdapterMemory(), store, edit_stack_message=False)
        unsent = await store.unsent()

        await outbox.start()
        await outbox.idle()

        assert client.calls == 1
        if homeserver_had_it:
            assert client.sent == []
        else:
            [(_, _, content, txn)] = client.sent
            assert txn == "t0+3" and content[REPLY_IDS] == ["t0", "t1", "t2"]
        assert await store.unsent() == []
        for pending in unsent:
            store.outbox[pending.outgoing.txn] = pending  # as if the mark was lost too
        store.sent.clear()


async def test_an_answer_to_a_question_in_a_burst_stays_a_reply_to_that_question() -> None:
    client = FakeClient(held={ROOM: asyncio.Event()})
    app, outbox, _ = wired(client, edit=False)

    await app.handle(chat("$0", ANA, Join()))
    await client.entered[ROOM].wait()
    await app.handle(chat("$1", BEN, Join()))
    await app.handle(chat("$2", FAC, Status()))
    await app.handle(chat("$3", Person("@cy:example.org", "Cy"), Join()))
    client.held[ROOM].set()
    await outbox.idle()

    threads = [
        content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        for content in client.messages()
    ]
    assert threads == ["$0", "$1", "$2", "$3"]


async def test_a_reply_that_was_in_flight_alone_is_not_merged_into_a_burst_after_a_restart() -> (
    None
):
    store = MemoryStore()
    replies = [
        Outgoing(f"t{n}", ToRoom(ROOM), OutKind.ANNOUNCEMENT, f"Person{n} joined", f"P{n}")
        for n in range(3)
    ]
    await store.queue(replies)
    client = FakeClient()
    client.by_txn["t0"] = "$sent-before-the-crash"  # t0 went out alone; t1, t2 were queued
    client.sent.append(
        (ROOM, "m.room.message", {"body": "Person0 joined", REPLY_IDS: ["t0"]}, "t0")
    )
    outbox = MatrixOutbox(client, AdapterMemory(), store, edit_stack_message=False)

    await outbox.start()
    await outbox.idle()

    carried = [txn for content in client.messages() for txn in content[REPLY_IDS]]
    assert sorted(carried) == ["t0", "t1", "t2"]
    assert await store.unsent() == []


async def test_a_stack_message_posted_just_before_a_stop_is_not_posted_again() -> None:
    store = MemoryStore()
    overviews = [
        Outgoing(f"o{n}", ToRoom(ROOM), OutKind.OVERVIEW, f"On the stack: {n}", f"{n}")
        for n in range(3)
    ]
    await store.queue(overviews)
    client = FakeClient()
    client.by_txn["o0"] = "$posted-before-the-stop"
    outbox = MatrixOutbox(client, AdapterMemory(), store)

    await outbox.start()
    await outbox.idle()

    [(_, _, edit, txn)] = [sent for sent in client.sent if sent[1] == "m.room.message"]
    assert txn == "o2" and edit["m.relates_to"]["event_id"] == "$posted-before-the-stop"
    assert edit["m.new_content"]["body"] == "On the stack: 2"
