"""The nio side of the bot: sync, turn each response into queue items, answer invites.

nio saves its sync token before it runs callbacks, and runs them inline in its sync loop,
so the bot keeps its own position instead (`store_sync_tokens=False`): one response
callback converts a whole sync response, in timeline order, into items on the one inbox
queue and ends it with a `Checkpoint` carrying the adapter memory's changes; the consumer
saves both only after everything before it was committed. On restart, sync resumes from
that position with the memory of that moment, and the event-id keys make the replayed
part a no-op. An event that cannot be converted is recorded as skipped, never dropped
silently; a gap that cannot be filled stops the bot before its position moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.app.items import SYNC_POSITION, Checkpoint, Item, Skipped
from scorebot.config import Config
from scorebot.core.model import Person
from scorebot.matrix.memory import (
    CALL_MEMBERS,
    DIRECT_ROOMS,
    DIRECT_ROOMS_VALUE,
    REACTIONS,
    REACTIONS_VALUE,
    SENDERS,
    STACK_MESSAGES_VALUE,
    AdapterMemory,
)
from scorebot.matrix.signals import Converter, after_own_join, is_own_join, room_view
from scorebot.store.protocol import Store

log = logging.getLogger(__name__)

SYNC_TIMEOUT = 30_000
"""milliseconds the server may hold a sync open"""

SYNC_FILTER = {"room": {"timeline": {"limit": 200}}}
"""Synapse sends only 10 timeline events per room by default; a burst after a restart is
more, and a gap ("limited") must then be filled from /messages."""

SYNC_ERROR_PAUSE = 1.0
"""seconds to wait after the first error answer to a sync; doubled for each one after"""
SYNC_ERROR_LONGEST = 30.0
"""seconds: the longest wait between syncs that keep getting error answers"""

BACKFILL_PAGES = 20
BACKFILL_PAGE = 100
"""events per /messages page when filling a gap"""
BACKFILL_ATTEMPTS = 5
"""tries for one /messages page before the bot stops rather than lose the gap"""
BACKFILL_RETRY = 1.0
"""seconds before the first retry of a /messages page; doubled each time"""


LEGACY_VALUES = (REACTIONS_VALUE, DIRECT_ROOMS_VALUE)
"""store values of older versions that the adapter memory table replaces"""


class GapNotFilledError(RuntimeError):
    """Events missed while away could not be fetched: stop before the position moves."""


def bot_person(user_id: str) -> Person:
    return Person(user_id, user_id[1:].split(":", 1)[0])


class MatrixBot:
    """Sync with the homeserver and feed the inbox; never does meeting work itself."""

    def __init__(
        self,
        client: Any,
        config: Config,
        store: Store,
        inbox: asyncio.Queue[Item],
        memory: AdapterMemory,
    ) -> None:
        self.client = client
        self.config = config
        self.store = store
        self.inbox = inbox
        self.memory = memory
        self.bot = str(client.user_id)
        self.converter = Converter(
            self.bot,
            memory,
            lanes=config.meeting.lanes,
            trusted_microphones=config.bot.trusted_microphones,
        )
        self._answered_invites: set[str] = set()
        self._position = ""
        """the token the next sync response continues from"""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sync_errors = 0
        """error answers to sync in a row: the pause before the next one grows with them"""

    async def load_memory(self) -> None:
        """What the adapter memory table kept; on the first start after an upgrade, first
        the JSON values older versions kept, moved into the table (before the consumer runs,
        so still the only writer)."""
        legacy = [await self.store.get_value(name) for name in LEGACY_VALUES]
        token = await self.store.get_value(SYNC_POSITION)
        if token and any(value not in (None, "[]") for value in legacy):
            self.memory.adopt_legacy(*legacy)
            await self.store.checkpoint(SYNC_POSITION, token, self.memory.take_writes(), ())
            for name in LEGACY_VALUES:
                await self.store.set_value(name, "[]")
            log.info("moved the saved hands and direct chats into the adapter memory table")
        for kind in (SENDERS, REACTIONS, CALL_MEMBERS, DIRECT_ROOMS):
            self.memory.load(kind, await self.store.remembered(kind))
        self.memory.load_stack_messages(await self.store.get_value(STACK_MESSAGES_VALUE))

    async def starting_token(self) -> str:
        """The stored sync position; on the very first start, a fresh one (history ignored)."""
        token = await self.store.get_value(SYNC_POSITION)
        if token:
            log.info("resuming sync from the stored position")
            self._position = token
            return token
        response = await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
        if not isinstance(response, nio.SyncResponse):
            raise RuntimeError(f"the first sync failed: {response}")
        self._absorb(response)
        self._answer_invites(response)
        # Before the consumer runs, so still the only writer.
        await self.store.checkpoint(
            SYNC_POSITION, str(response.next_batch), self.memory.take_writes(), ()
        )
        self._position = str(response.next_batch)
        log.info("first start: history before now is not acted on")
        return str(response.next_batch)

    async def sync_forever(self, since: str) -> None:
        self.client.add_response_callback(self._on_sync, nio.SyncResponse)
        self.client.add_response_callback(self._on_sync_error, nio.SyncError)
        await self.client.sync_forever(
            timeout=SYNC_TIMEOUT, since=since, full_state=True, sync_filter=SYNC_FILTER
        )

    # ------------------------------------------------------------ the one callback

    async def _on_sync_error(self, response: Any) -> None:
        """nio waits by itself when the homeserver cannot be reached or says "too many
        requests", but an error answer (a reverse proxy's 502 while the homeserver behind it
        is down) comes back at once and nio syncs again at once: without a pause here the
        bot would ask hundreds of times a second. nio awaits this callback inside its sync
        loop, so the pause delays the next sync; it grows while errors go on."""
        if getattr(response, "status_code", None) in ("M_LIMIT_EXCEEDED", 429):
            return  # nio already waited as the server asked
        pause = min(SYNC_ERROR_PAUSE * 2**self._sync_errors, SYNC_ERROR_LONGEST)
        self._sync_errors += 1
        log.warning(
            "the homeserver answered the sync with an error (%s); trying again in %.0f s",
            getattr(response, "message", None) or response,
            pause,
        )
        await asyncio.sleep(pause)

    async def _on_sync(self, response: Any) -> None:
        # nio awaits this inside its sync loop: it only converts and enqueues.
        self._sync_errors = 0
        since, self._position = self._position, str(response.next_batch)
        self._answer_invites(response)
        # Raises (stopping sync, so the bot, before the position moves) if a gap stays open.
        gaps = await self._fill_gaps(response, since)
        skipped = self._enqueue(response, gaps)
        checkpoint = Checkpoint(str(response.next_batch), self.memory.take_writes(), skipped)
        self.inbox.put_nowait(checkpoint)

    async def _fill_gaps(self, response: Any, since: str) -> dict[str, list[Any]]:
        """Events a limited timeline left out, oldest first, back to where we were."""
        gaps: dict[str, list[Any]] = {}
        for room_id, info in response.rooms.join.items():
            if (
                not info.timeline.limited
                or not since
                or any(is_own_join(event, self.bot) for event in info.timeline.events)
            ):
                # Nothing missed; or the bot just joined, and history before that is not
                # acted on, so there is nothing to fetch.
                continue
            missed: list[Any] = []
            start = info.timeline.prev_batch
            for _ in range(BACKFILL_PAGES):
                page = await self._page(room_id, start, since)
                if not page.chunk:
                    break
                missed.extend(page.chunk)
                if not page.end or page.end == start:
                    break
                start = page.end
            else:
                log.warning(
                    "more than %s events missed in %s; the oldest are skipped",
                    BACKFILL_PAGES * BACKFILL_PAGE,
                    room_id,
                )
            log.info("filled a gap of %s events in %s", len(missed), room_id)
            gaps[room_id] = missed[::-1]
        return gaps

    async def _page(self, room_id: str, start: str, since: str) -> Any:
        """One /messages page, tried again with growing pauses when the server fails."""
        wait = BACKFILL_RETRY
        for attempt in range(1, BACKFILL_ATTEMPTS + 1):
            page = await self.client.room_messages(
                room_id,
                start=start,
                end=since,
                direction=nio.MessageDirection.back,
                limit=BACKFILL_PAGE,
            )
            if isinstance(page, nio.RoomMessagesResponse):
                return page
            log.warning("fetching missed events in %s failed (try %s): %s", room_id, attempt, page)
            if attempt < BACKFILL_ATTEMPTS:
                await asyncio.sleep(wait)
                wait *= 2
        raise GapNotFilledError(f"could not fetch the events missed in {room_id}")

    def _enqueue(self, response: Any, gaps: dict[str, list[Any]]) -> tuple[Skipped, ...]:
        self._absorb_state(response)
        level = self.config.bot.facilitator_power_level
        views = {
            room_id: room_view(
                room, level, self.memory.direct_rooms, self.memory.creators.get(room_id, ())
            )
            for room_id, room in self.client.rooms.items()
        }
        skipped: list[Skipped] = []
        for room_id, info in response.rooms.join.items():
            view = views.get(room_id)
            if view is None:
                continue
            timeline = [*gaps.get(room_id, ()), *info.timeline.events]
            for event in after_own_join(timeline, self.bot):
                try:
                    items = self.converter.convert(event, view, views)
                except Exception as error:
                    log.exception("could not convert %s in %s", event.event_id, room_id)
                    reason = f"{type(error).__name__}: {error}"[:500]
                    skipped.append(Skipped(str(event.event_id), room_id, reason, time.time()))
                    continue
                for item in items:
                    self.inbox.put_nowait(item)
                if isinstance(event, nio.MegolmEvent):
                    self._spawn(self._request_key(event))
        return tuple(skipped)

    def _absorb_state(self, response: Any) -> None:
        """Learn room creators and call memberships, from state and timeline alike."""
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, nio.UnknownEvent | nio.RoomCreateEvent):
                    # One odd event must not cost the whole sync batch, in every room.
                    try:
                        self.converter.note_state(event, room_id)
                    except Exception:
                        log.exception("could not read %s in %s", event.event_id, room_id)

    def _absorb(self, response: Any) -> None:
        """Learn from a response without acting on it (the first start's history)."""
        self._absorb_state(response)
        for info in response.rooms.join.values():
            for event in info.timeline.events:
                if isinstance(event, nio.RoomMessageText | nio.RoomMessageNotice):
                    self.memory.note_sender(event.event_id, event.sender)

    # ------------------------------------------------------------ invites

    def _answer_invites(self, response: Any) -> None:
        for room_id, info in response.rooms.invite.items():
            if room_id in self._answered_invites:
                continue
            inviter, direct = None, False
            for event in info.invite_state:
                if (
                    isinstance(event, nio.InviteMemberEvent)
                    and event.state_key == self.bot
                    and event.membership == "invite"
                ):
                    inviter = event.sender
                    direct = bool((event.content or {}).get("is_direct"))
            if inviter is None:
                continue
            self._answered_invites.add(room_id)
            if self.config.bot.may_invite(inviter):
                log.info("joining %s, invited by %s", room_id, inviter)
                if direct:
                    self.memory.note_direct_room(room_id)  # saved with this checkpoint
                self._spawn(self._join(room_id))
            else:
                log.info("declining the invite to %s from %s (not allowed)", room_id, inviter)
                self._spawn(self._decline(room_id))

    async def _join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        if not isinstance(response, nio.JoinResponse):
            log.warning("could not join %s: %s", room_id, response)
            self._answered_invites.discard(room_id)

    async def _decline(self, room_id: str) -> None:
        response = await self.client.room_leave(room_id)
        if not isinstance(response, nio.RoomLeaveResponse):
            log.warning("could not decline the invite to %s: %s", room_id, response)

    # ------------------------------------------------------------ encryption trouble

    async def _request_key(self, event: Any) -> None:
        with contextlib.suppress(nio.LocalProtocolError):  # already requested
            response = await self.client.request_room_key(event)
            if not isinstance(response, nio.RoomKeyRequestResponse):
                log.warning("key request for session %s failed: %s", event.session_id, response)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
