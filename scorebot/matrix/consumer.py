"""The one consumer of the inbox: apply each signal (commit first), then hand replies out.

Kept free of nio so it runs against a recording fake outbox in tests. The sync position
is saved only when its marker comes off the queue, i.e. after everything before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scorebot.app import Applied, apply_signal
from scorebot.core.events import MinutesAsked
from scorebot.core.fairness import Admission, Fairness
from scorebot.core.model import Meeting, Person, Settings, Signal, Source, Status
from scorebot.core.render import (
    STACK_CHANGED_KINDS,
    Audience,
    RenderContext,
    Reply,
    minutes_documents,
    rate_limited,
    render_all,
)
from scorebot.core.step import step
from scorebot.matrix.items import SYNC_TOKEN, Inbound, Item, Notice, SyncMarker
from scorebot.store.protocol import Store

log = logging.getLogger(__name__)


class Outbox(Protocol):
    async def send(self, item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> None:
        """Deliver the replies to a committed signal; `overview` refreshes the stack message."""
        ...

    async def notify(self, notice: Notice) -> None:
        """Deliver a reply that changed nothing."""
        ...


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    defaults: Settings
    """settings for a room's first meeting"""
    bot: Person
    """the bot itself, as the sender of the stack overview it renders"""
    stack_overview: bool = True
    """refresh the stack message after every change that affects the stack"""


async def consume(
    inbox: asyncio.Queue[Item], store: Store, outbox: Outbox, settings: ConsumerSettings
) -> None:
    """Handle items forever, one at a time, in order.

    If a signal cannot be committed (the store failed), this raises and the bot stops
    before any later sync position is saved: a restart replays that signal. Trouble after
    the commit only costs a reply, so it is logged and the meeting goes on.
    """
    fairness = Fairness()
    while True:
        item = await inbox.get()
        try:
            await handle(item, store, outbox, settings, fairness)
        finally:
            inbox.task_done()


async def handle(
    item: Item,
    store: Store,
    outbox: Outbox,
    settings: ConsumerSettings,
    fairness: Fairness | None = None,
) -> None:
    match item:
        case SyncMarker():
            await store.set_value(SYNC_TOKEN, item.token)
        case Notice():
            if fairness is not None and item.sender is not None:
                admission = fairness.admit_message(item.room, item.sender, item.at)
                if admission is Admission.SKIP_AND_TELL:
                    told = rate_limited(Person(item.sender, ""), private=True).text
                    item = Notice(item.room, told, to_user=item.sender)
                elif admission is Admission.SKIP:
                    return  # a flood of unclear messages is not answered each time
            try:
                await outbox.notify(item)
            except Exception:
                log.exception("could not send %s", _describe(item))
        case Inbound():
            # Fairness (issue 9.7): a flood from one sender is skipped, and said so once.
            if fairness is not None and not await admitted(item, fairness, outbox):
                return
            applied = await apply_signal(store, item.signal, item.room, settings.defaults)
            if applied is None:
                return
            try:
                await _reply(item, applied, store, outbox, settings, fairness=fairness)
            except Exception:
                log.exception("committed %s but could not reply", _describe(item))


async def _reply(
    item: Inbound,
    applied: Applied,
    store: Store,
    outbox: Outbox,
    settings: ConsumerSettings,
    *,
    fairness: Fairness | None = None,
) -> None:
    context = RenderContext.for_signal(
        item.signal, settings.bot.name, lanes=applied.meeting.settings.lanes
    )
    replies = render_all(applied.events, context)
    for event in applied.events:
        if isinstance(event, MinutesAsked) and event.number:
            # The minutes live in the store, not in the meeting state: fetch them here.
            records = await store.minutes(item.room, event.number)
            title = applied.meeting.title if event.number == applied.meeting.number else ""
            replies += minutes_documents(title, item.room, event.number, records, context)
    if fairness is not None:
        replies = fairness.answers(replies, item.signal, room=item.room, reply_room=item.reply_room)
    overview = None
    if settings.stack_overview and any(
        reply.kind in STACK_CHANGED_KINDS and reply.audience is Audience.ROOM for reply in replies
    ):
        overview = stack_overview(applied.meeting, settings.bot, item.signal.at)
    await outbox.send(item, replies, overview)


async def admitted(item: Inbound, fairness: Fairness, outbox: Outbox) -> bool:
    """Whether the signal is taken; the first one skipped in a run is answered once."""
    admission = fairness.admit(item.room, item.signal)
    if admission is Admission.SKIP_AND_TELL:
        told = rate_limited(item.signal.sender, item.private)
        notice = Notice(item.reply_room, told.text, reply_to=item.reply_to)
        try:
            await outbox.notify(notice)
        except Exception:
            log.exception("could not send %s", _describe(notice))
    if admission is not Admission.TAKE:
        log.info("skipped %s: its sender is sending too fast", _describe(item))
    return admission is Admission.TAKE


def stack_overview(meeting: Meeting, bot: Person, at: float) -> Reply | None:
    """The stack as everyone may see it, rendered as the bot's own status answer."""
    signal = Signal(key="overview", sender=bot, cue=Status(), source=Source.CLOCK, at=at)
    _, events = step(meeting, signal)
    context = RenderContext.for_signal(signal, bot.name, lanes=meeting.settings.lanes)
    replies = [r for r in render_all(events, context) if r.audience is Audience.ROOM]
    return replies[0] if replies else None


def _describe(item: Item) -> str:
    if isinstance(item, Inbound):
        return f"signal {item.signal.key} ({type(item.signal.cue).__name__}) in {item.room}"
    if isinstance(item, Notice):
        return f"notice in {item.room}"
    return "sync marker"
