"""The clock source: a tick on the inbox for every room where someone has the floor."""

from __future__ import annotations

import asyncio
import time

from scorebot.app.consumer import Consumer
from scorebot.app.items import Inbound, Item
from scorebot.core.model import Person, Signal, Source, Tick

CLOCK_INTERVAL = 5.0
"""seconds between clock ticks for wrap-up reminders"""


async def clock(
    inbox: asyncio.Queue[Item], consumer: Consumer, bot: Person, interval: float
) -> None:
    """Forever; it reads the consumer's meetings (never the store) and only enqueues."""
    await consumer.load_all()
    while True:
        await asyncio.sleep(interval)
        now = time.time()
        for room in consumer.speaking_rooms():
            key = f"tick:{room}:{int(now)}"
            signal = Signal(key=key, sender=bot, cue=Tick(), source=Source.CLOCK, at=now)
            inbox.put_nowait(Inbound(signal, room))
