"""Wire one running bot: config -> store -> client -> inbox -> consumer -> outbox."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scorebot.app.clock import CLOCK_INTERVAL, clock
from scorebot.app.consumer import Consumer, ConsumerSettings
from scorebot.app.items import Item
from scorebot.config import Config
from scorebot.matrix.bot import MatrixBot, bot_person
from scorebot.matrix.identity import ensure_identity
from scorebot.matrix.memory import AdapterMemory
from scorebot.matrix.outbox import MatrixOutbox
from scorebot.matrix.session import make_data_folder, open_session, require_login_means
from scorebot.matrix.voice_room import listen_in_room
from scorebot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


async def run_bot(
    config: Config,
    *,
    ready: asyncio.Event | None = None,
    clock_interval: float = CLOCK_INTERVAL,
) -> None:
    """Run until cancelled (or until a part fails, which ends the whole bot)."""
    # Before anything exists on disk: a first start with no password would leave it behind.
    require_login_means(config)
    make_data_folder(config)
    store = await SqliteStore.open(config.storage.database)
    client: Any = None
    bot: MatrixBot | None = None
    outbox: MatrixOutbox | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        client = await open_session(config)
        await ensure_identity(client, config)
        inbox: asyncio.Queue[Item] = asyncio.Queue()
        memory = AdapterMemory()
        bot = MatrixBot(client, config, store, inbox, memory)
        await bot.load_memory()
        since = await bot.starting_token()
        outbox = MatrixOutbox(
            client,
            memory,
            store,
            edit_stack_message=config.bot.edit_stack_message,
            share_keys_with=config.bot.share_keys_with,
        )
        await outbox.start()
        me = bot_person(bot.bot)
        settings = ConsumerSettings(
            defaults=config.meeting.settings(),
            bot=me,
            stack_overview=config.bot.edit_stack_message,
        )
        consumer = Consumer(store, outbox, settings)
        tasks.append(asyncio.create_task(consumer.run(inbox), name="consumer"))
        tasks.append(asyncio.create_task(bot.sync_forever(since), name="sync"))
        if config.meeting.time_check_seconds > 0:
            ticks = clock(inbox, consumer, me, clock_interval)
            tasks.append(asyncio.create_task(ticks, name="clock"))
        if config.speech is not None:
            listening = await listen_in_room(client, config.speech, inbox)
            tasks.append(asyncio.create_task(listening, name="voice"))
        log.info("scorebot is running as %s (device %s)", bot.bot, client.device_id)
        if ready is not None:
            ready.set()
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # a part that ended raises here and stops the bot
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if outbox is not None:
            await outbox.close()
        if bot is not None:
            await bot.close()
        if client is not None:
            await client.close()
        await store.close()
