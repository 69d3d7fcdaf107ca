"""Committed replies go out as m.notice: complete plain body, HTML, threaded, with m.mentions.

Each destination has its own sender task, so one busy room never delays another (at most
`CONCURRENT_SENDS` sends at once). A room's first reply goes out at once; replies
committed while a send to that room is in flight go out together next, as one message
that mentions everyone it answers. Exactly once: every message carries the transaction id
committed with it, several sent as one are first recorded as a batch under one id, and a
message is marked sent only after the homeserver accepted it; after a crash the same ids
are sent again and the homeserver keeps the first. The stack overview is one message per
room, edited in place (m.replace) when configured.

Trust model: by default the bot encrypts to every device in the room, verified or not
(`ignore_unverified_devices=True`). Members rarely verify a bot's device, and refusing
unverified devices would silence the bot in exactly the rooms it serves; what it sends is
what the room already sees. With `[bot] share_keys_with = "cross-signed"`, devices their
owners did not cross-sign are left out (scorebot/matrix/device_trust.py). It queries device
keys before each send so people who just joined can read the answer.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.app.ports import Outgoing, OutKind, Pending, StorageError, Store, Target, ToRoom
from scorebot.app.replies import HTML_PARAGRAPH, PARAGRAPH
from scorebot.app.txn import batch_id, companion_id
from scorebot.config import ShareKeysWith
from scorebot.core.ids import localpart
from scorebot.core.sanitize import clean
from scorebot.matrix.memory import STACK_MESSAGES_VALUE, AdapterMemory
from scorebot.matrix.sending import send_event

log = logging.getLogger(__name__)

HAND_BUTTON = "\u270b"
"""✋: the bot's own reaction on its stack message, so others can add theirs with a click"""

CONCURRENT_SENDS = 8
"""sends in flight at once, across rooms"""
REPLY_IDS = "org.scorebot.reply_ids"
"""content field listing the transaction ids of the replies an event carries (for audits)"""
ROOM_WAIT = 30.0
"""seconds to wait for a newly created direct chat to appear in sync"""
INVITE_WAIT = 300.0
"""seconds a private reply waits for the person to accept the bot's direct chat; what is
encrypted before they join, they could not read"""


def notice_content(
    text: str, markup: str | None, mentions: Sequence[str], reply_to: str | None
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": markup if markup is not None else html_lib.escape(text),
        "m.mentions": {"user_ids": list(mentions)},
    }
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def edit_content(target: str, text: str, markup: str) -> dict[str, Any]:
    new = notice_content(text, markup, (), None)
    new["m.mentions"] = {}
    return {
        "msgtype": "m.notice",
        "body": f"* {text}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"* {markup}",
        "m.mentions": {},
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }


@dataclass(slots=True)
class _Lane:
    """One destination's messages, sent in commit order by its own task."""

    queue: list[Pending] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    """set while nothing is queued or in flight"""
    task: asyncio.Task[None] | None = None


class MatrixOutbox:
    """The app's sender on a nio client. `await start()` first, `close()` at the end."""

    def __init__(
        self,
        client: Any,
        memory: AdapterMemory,
        store: Store,
        *,
        edit_stack_message: bool = True,
        share_keys_with: ShareKeysWith = ShareKeysWith.ALL,
        concurrency: int = CONCURRENT_SENDS,
    ) -> None:
        self._client = client
        self._share_keys_with = share_keys_with
        self._memory = memory
        self._store = store
        self._edit = edit_stack_message
        self._gate = asyncio.Semaphore(concurrency)
        self._lanes: dict[Target, _Lane] = {}

    async def start(self) -> None:
        """Send what was committed but not sent before the last stop, with its own ids."""
        unsent = await self._store.unsent()
        if unsent:
            log.info("sending %s replies committed before the last stop", len(unsent))
        lanes: dict[Target, list[Pending]] = {}
        for each in unsent:
            lanes.setdefault(each.outgoing.target, []).append(each)
        for target, queued in lanes.items():
            self._enqueue(target, _as_before_the_stop(queued))

    def post(self, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            self._enqueue(message.target, [Pending(message)])

    async def idle(self) -> None:
        """Wait until everything posted so far was handed to the homeserver."""
        while not all(lane.done.is_set() for lane in self._lanes.values()):
            for lane in list(self._lanes.values()):
                await lane.done.wait()

    async def close(self) -> None:
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ one task per destination

    def _enqueue(self, target: Target, pending: list[Pending]) -> None:
        lane = self._lanes.get(target)
        if lane is None:
            lane = self._lanes[target] = _Lane()
            lane.task = asyncio.create_task(self._run(target, lane), name=f"send to {target}")
        lane.queue.extend(pending)
        lane.done.clear()
        lane.wake.set()

    async def _run(self, target: Target, lane: _Lane) -> None:
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            while lane.queue:
                # Everything committed while the last send was in flight goes out together.
                taken, lane.queue = lane.queue, []
                try:
                    await self._deliver(target, taken)
                except StorageError as error:
                    # Sent, or not, but not marked: the next start sends them again under
                    # the same ids, which the homeserver keeps once.
                    log.warning("could not save what was sent to %s: %s", target, error)
                except Exception:
                    # Left unsent in the store: the next start sends it with the same ids.
                    log.exception("sending %s replies to %s failed", len(taken), target)
            lane.done.set()

    async def _deliver(self, target: Target, taken: list[Pending]) -> None:
        while not self._client.rooms:
            # Just started: nio learns the rooms from the first sync; until then every
            # room would look like one the bot is not in.
            await self._client.synced.wait()
        room = await self._room_for(target)
        if room is None:
            await self._store.mark_sent([each.outgoing.txn for each in taken], "")
            return
        messages = [each for each in taken if each.outgoing.kind is not OutKind.OVERVIEW]
        for txn, group in await self._batches(messages):
            content = _content(group, self._names_in(room))
            event_id = await self._send(room, "m.room.message", content, txn)
            if event_id and any(message.kind is OutKind.STACK for message in group):
                await self._new_stack_message(room, event_id, txn)
            await self._store.mark_sent([message.txn for message in group], event_id or "")
        overviews = [each.outgoing for each in taken if each.outgoing.kind is OutKind.OVERVIEW]
        if overviews:
            # Only the newest overview matters: it shows the stack as it now is.
            event_id = await self._refresh_stack(room, overviews)
            await self._store.mark_sent([overview.txn for overview in overviews], event_id or "")

    async def _batches(self, messages: list[Pending]) -> list[tuple[str, list[Outgoing]]]:
        """The messages as sends, each with its transaction id, in order.

        Announcements next to each other go out as one; an answer to a question stays a
        reply to that question. Several sent as one are recorded as a batch before the
        send, so that a restart sends the same batch under the same id.
        """
        sends: list[tuple[str, list[Outgoing]]] = []
        for (recorded, _), each in groupby(messages, key=_batch_key):
            group = [pending.outgoing for pending in each]
            txn = recorded or group[0].txn  # a message on its own has its own id
            if recorded is None and len(group) > 1:
                txn = batch_id(group[0].txn, len(group))
                await self._store.record_batch(txn, [message.txn for message in group])
            sends.append((txn, group))
        return sends

    async def _room_for(self, target: Target) -> str | None:
        if isinstance(target, ToRoom):
            return target.room
        room = await self.direct_room(target.user)
        if room is None:
            return None
        try:
            async with asyncio.timeout(INVITE_WAIT):
                while not self._joined(room, target.user):
                    await self._client.synced.wait()
        except TimeoutError:
            log.info("%s did not accept the direct chat %s; private reply dropped", target, room)
            return None
        return room

    def _names_in(self, room: str) -> Callable[[str], str]:
        """How `room` names a member: their display name there, made one plain line."""
        user_name = getattr(self._client.rooms.get(room), "user_name", None)

        def name(user_id: str) -> str:
            shown = user_name(user_id) if user_name is not None else None
            return clean(str(shown or localpart(user_id)))

        return name

    def _joined(self, room: str, user_id: str) -> bool:
        matrix_room = self._client.rooms.get(room)
        user = matrix_room.users.get(user_id) if matrix_room is not None else None
        return user is not None and not user.invited

    # ------------------------------------------------------------ the stack message

    async def _refresh_stack(self, room: str, overviews: list[Outgoing]) -> str | None:
        """Show the newest overview in the room's stack message, posting one if there is none.

        A new stack message is posted under the oldest overview's id: if that one went
        out just before a stop, the homeserver finds the same event instead of a second.
        """
        if not self._edit:
            return ""  # without editing, the stack is shown only when someone asks
        latest = overviews[-1]
        if room not in self._memory.stack_messages:
            oldest = overviews[0]
            event_id = await self._send(room, "m.room.message", _content([oldest]), oldest.txn)
            if event_id is None:
                return None
            await self._new_stack_message(room, event_id, oldest.txn)
            if oldest is latest:
                return event_id
        current = self._memory.stack_messages[room]
        content = edit_content(current, latest.text, latest.html)
        content[REPLY_IDS] = [latest.txn]
        return await self._send(room, "m.room.message", content, latest.txn)

    async def _new_stack_message(self, room: str, event_id: str, txn: str) -> None:
        self._memory.stack_messages[room] = event_id
        await self._store.set_value(STACK_MESSAGES_VALUE, self._memory.stack_messages_json())
        reaction = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": HAND_BUTTON}
        }
        await self._send(room, "m.reaction", reaction, companion_id(txn, "hand"))

    # ------------------------------------------------------------ direct chats

    async def direct_room(self, user_id: str) -> str | None:
        """The bot's direct chat with `user_id`, created (encrypted) if there is none."""
        for room_id, room in self._client.rooms.items():
            if (
                # Only rooms marked direct (on the invite, or made by us as direct): an
                # unnamed meeting room with two people so far must never get private replies.
                room_id in self._memory.direct_rooms
                and user_id in room.users
                and room.joined_count + room.invited_count <= 2
            ):
                return str(room_id)
        response = await self._client.room_create(
            is_direct=True,
            invite=[user_id],
            preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        if not isinstance(response, nio.RoomCreateResponse):
            log.warning("could not open a direct chat with %s: %s", user_id, response)
            return None
        room_id = str(response.room_id)
        self._memory.note_direct_room(room_id)  # saved with the next checkpoint
        try:
            async with asyncio.timeout(ROOM_WAIT):
                while room_id not in self._client.rooms:
                    await self._client.synced.wait()
        except TimeoutError:
            log.warning("the new direct chat %s did not appear in sync", room_id)
            return None
        log.info("opened direct chat %s with %s", room_id, user_id)
        return room_id

    # ------------------------------------------------------------ sending

    async def _send(
        self, room: str, event_type: str, content: dict[str, Any], txn: str
    ) -> str | None:
        client = self._client
        if room not in client.rooms:
            log.warning("not in room %s; reply dropped", room)
            return None
        # Later replies to this room wait behind this one, in order, while it is retried.
        response = await send_event(
            client,
            room,
            event_type,
            content,
            txn=txn,
            share_keys_with=self._share_keys_with,
            gate=self._gate,
        )
        if isinstance(response, nio.RoomSendResponse):
            event_id = str(response.event_id)
            self._memory.senders[event_id] = str(client.user_id)
            return event_id
        log.warning("sending to %s failed: %s", room, getattr(response, "message", response))
        return None


def _as_before_the_stop(pending: list[Pending]) -> list[Pending]:
    """One destination's unsent messages, the one that may have been in flight kept alone.

    A destination has one send in flight at a time. If its oldest unsent message is in no
    recorded batch, it may have gone out on its own under its own id just before the stop,
    so it is sent on its own again (the homeserver then keeps the first); merging it into
    a new batch would post it twice.
    """
    messages = [each for each in pending if each.outgoing.kind is not OutKind.OVERVIEW]
    if not messages or messages[0].batch is not None:
        return pending
    oldest = messages[0]
    alone = Pending(oldest.outgoing, oldest.outgoing.txn)
    return [alone if each is oldest else each for each in pending]


def _batch_key(pending: Pending) -> tuple[str | None, str]:
    """Messages with equal keys, next to each other, are sent as one event."""
    if pending.batch is not None:
        return pending.batch, ""
    if pending.outgoing.kind is OutKind.ANNOUNCEMENT:
        return None, "announcements"
    return None, pending.outgoing.txn  # on its own


def _content(
    messages: Sequence[Outgoing], name: Callable[[str], str] = localpart
) -> dict[str, Any]:
    """One event for one or more messages. Sent together, each part that answers someone
    who is not named in it starts with their name, so everyone finds their own answer."""
    if len(messages) == 1:
        [message] = messages
        content = notice_content(message.text, message.html, message.mentions, message.reply_to)
    else:
        threads = {message.reply_to for message in messages}
        mentions = dict.fromkeys(
            user
            for message in messages
            for user in (*message.mentions, *([message.answers] if message.answers else []))
        )
        texts, htmls = [], []
        for message in messages:
            who = name(message.answers) if message.answers else ""
            named = not who or who.casefold() in message.text.casefold()
            texts.append(message.text if named else f"{who}: {message.text}")
            htmls.append(message.html if named else f"{html_lib.escape(who)}: {message.html}")
        content = notice_content(
            PARAGRAPH.join(texts),
            HTML_PARAGRAPH.join(htmls),
            tuple(mentions),
            threads.pop() if len(threads) == 1 else None,
        )
    content[REPLY_IDS] = [message.txn for message in messages]
    return content
