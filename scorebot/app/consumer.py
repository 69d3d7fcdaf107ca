"""The one consumer of the inbox: apply each signal and commit its replies with it, then send.

It is the only writer of meetings, so it keeps each room's meeting in memory once loaded
and never loads and decodes it again per signal. A checkpoint is saved only when it comes
off the queue, i.e. after everything before it.

When the store cannot save (a full or read-only disk), the consumer holds the item it was
saving and tries it again with growing pauses; nothing after it is handled, so no later
checkpoint moves the sync position past it. Rooms with a running meeting are told once
when saving stops and once when it works again.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import logging
from dataclasses import dataclass

from scorebot.app.apply import step_to_commit
from scorebot.app.items import SYNC_POSITION, Checkpoint, Inbound, InRoom, Item, Notice, Private
from scorebot.app.ports import Outgoing, OutKind, Sender, StorageError, Store, ToRoom
from scorebot.app.replies import outgoing_for, outgoing_notice
from scorebot.app.txn import storage_notice_id
from scorebot.core import events as ev
from scorebot.core.fairness import Admission, Fairness
from scorebot.core.minutes import Record, records
from scorebot.core.model import Meeting, Person, Settings, Signal, Source, Status
from scorebot.core.render import (
    STACK_CHANGED_KINDS,
    STORAGE_BACK,
    STORAGE_DOWN,
    Audience,
    RenderContext,
    Reply,
    minutes_documents,
    rate_limited,
    render_all,
)
from scorebot.core.step import step

log = logging.getLogger(__name__)

FIRST_RETRY = 1.0
"""seconds before saving is tried again after it failed; doubled each time"""
LAST_RETRY = 30.0
"""seconds: the longest pause between tries"""


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    defaults: Settings
    """settings for a room's first meeting"""
    bot: Person
    """the bot itself, as the sender of the stack overview it renders"""
    stack_overview: bool = True
    """refresh the stack message after every change that affects the stack"""


class Consumer:
    """Handles items one at a time, in order: `await consumer.run(inbox)`."""

    def __init__(self, store: Store, sender: Sender, settings: ConsumerSettings) -> None:
        self.store = store
        self.sender = sender
        self.settings = settings
        self._meetings: dict[str, Meeting] = {}
        """room -> its meeting as last committed (this consumer is the only writer)"""
        self.fairness = Fairness()
        """per-sender limits: one person's flood must not delay anyone else's answers"""
        self._failing = False
        """saving failed and has not worked since"""
        self._told: list[str] = []
        """rooms told that saving fails, to be told when it works again"""

    async def run(self, inbox: asyncio.Queue[Item]) -> None:
        """Forever, one item at a time; an item the store cannot save is held and tried
        again until it can, so nothing after it moves ahead of it."""
        while True:
            item = await inbox.get()
            try:
                await self.take(item)
            finally:
                inbox.task_done()

    async def take(self, item: Item) -> None:
        """Handle one item from a source, unless its sender is sending too fast (then it is
        skipped, and that is said once). Admitted once: tries again after a storage failure
        do not count against the sender."""
        admitted = self._admitted(item)
        if admitted is not None:
            await self.handle_until_saved(admitted)

    def _admitted(self, item: Item) -> Item | None:
        """The item to handle: itself, the one notice that its sender is being skipped, or
        nothing (skipped quietly, as it was said already)."""
        match item:
            case Inbound(signal=signal):
                admission = self.fairness.admit(item.room, signal)
                private = isinstance(item.destination, Private)
                key, sender = signal.key, signal.sender
            case Notice(sender=str(user), at=at):
                admission = self.fairness.admit_message(item.room, user, at)
                private = True  # it answered nothing public: say it to the sender alone
                key, sender = item.key, Person(user, "")
            case _:
                return item
        if admission is Admission.TAKE:
            return item
        log.info("skipped %s from %s: sent too fast", key, sender.id)
        if admission is Admission.SKIP:
            return None
        told = rate_limited(sender, private)
        destination = item.destination if isinstance(item, Inbound) else Private(sender.id)
        return Notice(f"{key}/skipped", item.room, told.text, destination)

    async def handle_until_saved(self, item: Item, first_retry: float = FIRST_RETRY) -> None:
        pause = first_retry
        while True:
            try:
                await self.handle(item)
            except StorageError as error:
                if not self._failing:
                    log.error("cannot save: %s; holding new input until saving works", error)
                    self._failing = True
                    self._told = self._running_rooms()
                    self._say(STORAGE_DOWN, "down")
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RETRY)
                continue
            if self._failing:
                log.info("saving works again")
                self._say(STORAGE_BACK, "back")
                self._failing, self._told = False, []
            return

    def _running_rooms(self) -> list[str]:
        return [room for room, meeting in self._meetings.items() if meeting.active]

    def _say(self, text: str, what: str) -> None:
        """Tell the rooms in `_told`, without the store: it may be the thing that fails."""
        self.sender.post(
            [
                Outgoing(
                    storage_notice_id(room, what),
                    ToRoom(room),
                    OutKind.MESSAGE,
                    text,
                    html_lib.escape(text),
                )
                for room in self._told
            ]
        )

    async def meeting(self, room: str) -> Meeting | None:
        """The room's meeting as committed, loaded from the store once."""
        if room not in self._meetings:
            stored = await self.store.load(room)
            if stored is None:
                return None
            # The clock's `load_all` may be reading while a signal is committed: what the
            # consumer put here meanwhile is newer than what was read.
            self._meetings.setdefault(room, stored)
        return self._meetings[room]

    async def load_all(self) -> None:
        """Load every stored room's meeting, so `speaking_rooms` knows them all."""
        for room in await self.store.rooms():
            await self.meeting(room)

    def speaking_rooms(self) -> list[str]:
        """Rooms whose meeting runs with someone holding the floor (for the clock)."""
        return [
            room
            for room, meeting in self._meetings.items()
            if meeting.active and meeting.current_turn is not None
        ]

    async def handle(self, item: Item) -> None:
        match item:
            case Checkpoint():
                await self.store.checkpoint(SYNC_POSITION, item.position, item.memory, item.skipped)
            case Notice():
                message = outgoing_notice(item)
                if await self.store.queue([message]):
                    self.sender.post([message])
            case Inbound():
                await self._apply(item)

    async def _apply(self, item: Inbound) -> None:
        signal = item.signal
        before = await self.meeting(item.room) or Meeting(
            item.room, settings=self.settings.defaults
        )
        stepped = step_to_commit(before, signal)
        if stepped is None:
            return
        after, events = stepped
        lines = records(events, signal.at)
        outgoing = await self._outgoing(item, after, events, lines)
        if not await self.store.apply(signal.key, before, after, lines, outgoing):
            log.debug("signal %s already applied; skipping", signal.key)
            return
        self._meetings[item.room] = after
        self.sender.post(outgoing)

    async def _outgoing(
        self, item: Inbound, meeting: Meeting, events: list[ev.Event], lines: list[Record]
    ) -> list[Outgoing]:
        context = RenderContext.for_signal(
            item.signal, self.settings.bot.name, lanes=meeting.settings.lanes
        )
        replies = render_all(events, context)
        for event in events:
            if isinstance(event, ev.MinutesAsked) and event.number:
                # The minutes live in the store, not in the meeting state: fetch them here,
                # with this signal's own records, which are not committed yet.
                stored = await self.store.minutes(item.room, event.number)
                if event.number == meeting.number:
                    stored = [*stored, *lines]
                title = meeting.title if event.number == meeting.number else ""
                replies += minutes_documents(title, item.room, event.number, stored, context)
        replies = self.fairness.answers(
            replies, item.signal, room=item.room, reply_room=_reply_room(item)
        )
        overview = None
        if self.settings.stack_overview and any(
            reply.kind in STACK_CHANGED_KINDS and reply.audience is Audience.ROOM
            for reply in replies
        ):
            overview = stack_overview(meeting, self.settings.bot, item.signal.at)
        return outgoing_for(item, replies, overview)


def stack_overview(meeting: Meeting, bot: Person, at: float) -> Reply | None:
    """The stack as everyone may see it, rendered as the bot's own status answer."""
    signal = Signal(key="overview", sender=bot, cue=Status(), source=Source.CLOCK, at=at)
    _, events = step(meeting, signal)
    context = RenderContext.for_signal(signal, bot.name, lanes=meeting.settings.lanes)
    replies = [r for r in render_all(events, context) if r.audience is Audience.ROOM]
    return replies[0] if replies else None


def _reply_room(item: Inbound) -> str:
    """Where a signal's own answers go: the meeting room, or the sender's direct chat."""
    match item.destination:
        case InRoom():
            return item.room
        case Private(user=user, reply_room=reply_room):
            return reply_room or user
