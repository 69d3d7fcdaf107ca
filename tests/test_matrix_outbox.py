"""The outbox: one message per burst, in the core's order, and the server's rate limit honoured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nio

from scorebot.core.model import (
    Join,
    Meeting,
    NewTopic,
    Next,
    Ouch,
    Person,
    Signal,
    Source,
    StartMeeting,
)
from scorebot.core.render import RenderContext, render_all
from scorebot.core.step import step
from scorebot.matrix.items import Inbound
from scorebot.matrix.memory import AdapterMemory
from scorebot.matrix.outbox import MatrixOutbox
from scorebot.store.memory import MemoryStore

ROOM = "!meeting:example.org"
FAC = Person("@fac:example.org", "Fran")
ANA = Person("@ana:example.org", "Ana")
BEN = Person("@ben:example.org", "Ben")


@dataclass
class FakeClient:
    """Records what would be sent; answers like nio, optionally rate-limited at first."""

    limited: int = 0
    user_id: str = "@scorebot:example.org"
    should_query_keys: bool = False
    rooms: dict[str, object] = field(default_factory=lambda: {ROOM: object()})
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    attempts: int = 0

    async def room_send(
        self, room: str, event_type: str, content: dict[str, Any], **_: Any
    ) -> nio.Response:
        self.attempts += 1
        if self.limited:
            self.limited -= 1
            return nio.RoomSendError("Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=5)
        self.sent.append((room, event_type, content))
        return nio.RoomSendResponse(f"$sent{len(self.sent)}", room)


def outbox_for(client: FakeClient) -> MatrixOutbox:
    return MatrixOutbox(client, AdapterMemory(), MemoryStore(), edit_stack_message=False)


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
    replies = render_all(events, RenderContext.for_signal(signal))
    client = FakeClient()
    outbox = outbox_for(client)

    await outbox.send(Inbound(signal, ROOM, ROOM, signal.key), replies, None)
    await outbox.flush()

    [(_, _, content)] = client.sent
    body = content["body"]
    assert body.index("Ben's turn ended") < body.index("open ouch") < body.index("New topic")


async def test_a_rate_limited_reply_waits_as_told_and_is_sent_once() -> None:
    signal, meeting = signals_until_a_new_topic()
    _, events = step(meeting, signal)
    replies = render_all(events, RenderContext.for_signal(signal))
    client = FakeClient(limited=2)
    outbox = outbox_for(client)

    await outbox.send(Inbound(signal, ROOM, ROOM, signal.key), replies, None)
    await outbox.flush()

    assert client.attempts == 3 and len(client.sent) == 1
    assert outbox.sent == ["$sent1"]
