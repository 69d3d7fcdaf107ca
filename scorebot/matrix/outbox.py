"""Replies go out as m.notice: complete plain body, HTML, threaded, with m.mentions.

Bursts are coalesced: replies that arrive within `window` seconds become one message per
destination room, so ten people raising hands at once get one answer, not ten. The stack
overview is one message per room, edited in place (m.replace) when configured.

Trust model: by default the bot encrypts to every device in the room, verified or not
(`ignore_unverified_devices=True`). Members rarely verify a bot's device, and refusing
unverified devices would silence the bot in exactly the rooms it serves; what it sends is
what the room already sees. With `[bot] share_keys_with = "cross-signed"`, devices their
owners did not cross-sign are left out (scorebot/matrix/device_trust.py). It queries device
keys before each send so people who just joined can read the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import ShareKeysWith
from scorebot.core.render import OVERVIEW_KINDS, STACK_CHANGED_KINDS, Audience, Reply, ReplyKind
from scorebot.matrix.device_trust import share_keys_by_policy
from scorebot.matrix.items import Inbound, Notice
from scorebot.matrix.memory import DIRECT_ROOMS_VALUE, STACK_MESSAGES_VALUE, AdapterMemory
from scorebot.store.protocol import Store

log = logging.getLogger(__name__)

HAND_BUTTON = "\u270b"
"""✋: the bot's own reaction on its stack message, so others can add theirs with a click"""

COALESCE_WINDOW = 0.8
"""seconds to gather a burst of replies into one message"""

RATE_LIMIT_ATTEMPTS = 5
ROOM_WAIT = 30.0
"""seconds to wait for a newly created direct chat to appear in sync"""
INVITE_WAIT = 300.0
"""seconds a private reply waits for the person to accept the bot's direct chat; what is
encrypted before they join, they could not read"""


@dataclass(slots=True)
class _Pending:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    mentions: dict[str, None] = field(default_factory=dict)
    reply_to: str | None = None
    overview: bool = False
    """it carries the stack overview: it becomes the room's stack message"""

    def add(self, text: str, markup: str, mentions: Sequence[str], reply_to: str | None) -> None:
        self.texts.append(text)
        self.htmls.append(markup)
        self.mentions.update(dict.fromkeys(mentions))
        if self.reply_to is None:
            self.reply_to = reply_to


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


class MatrixOutbox:
    """The consumer's outbox on a nio client. `start()` before use, `close()` to flush."""

    def __init__(
        self,
        client: Any,
        memory: AdapterMemory,
        store: Store,
        *,
        edit_stack_message: bool = True,
        window: float = COALESCE_WINDOW,
        share_keys_with: ShareKeysWith = ShareKeysWith.ALL,
    ) -> None:
        self._client = client
        self._share_keys_with = share_keys_with
        self._memory = memory
        self._store = store
        self._edit = edit_stack_message
        self._window = window
        self._pending: dict[tuple[str, str], _Pending] = {}
        """(destination, group) -> message being gathered"""
        self._overviews: dict[str, Reply] = {}
        self._private: dict[str, str | None] = {}
        """destination key -> user id, for replies that must go to a person's direct chat"""
        self._waiting: set[asyncio.Task[None]] = set()
        """private replies waiting for someone to accept the direct chat"""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent: list[str] = []
        """event ids sent, newest last (for diagnostics and tests)"""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scorebot outbox")

    async def close(self) -> None:
        for waiting in [*self._waiting]:
            waiting.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    # ------------------------------------------------------------ Outbox protocol

    async def send(self, item: Inbound, replies: Sequence[Reply], overview: Reply | None) -> None:
        # Announcements of stack changes merge into one message per burst; an answer to
        # someone's question stays a reply to that question. One signal's room replies
        # share one group, so they keep the core's order ("open ouch to discuss" before
        # "new topic").
        changes_stack = any(
            reply.kind in STACK_CHANGED_KINDS and reply.audience is Audience.ROOM
            for reply in replies
        )
        base = "burst" if changes_stack else (item.reply_to or "")
        parts = sum(reply.kind is ReplyKind.MINUTES_DOCUMENT for reply in replies) > 1
        for index, reply in enumerate(replies):
            # Each part of long minutes is a message of its own: merged, they would not fit.
            is_part = parts and reply.kind is ReplyKind.MINUTES_DOCUMENT
            group = f"{base}#{index}" if is_part else base
            if reply.audience is Audience.ROOM:
                reply_to = None if item.private else item.reply_to
                pending = self._at(item.room, group)
                pending.add(reply.text, reply.html, reply.mentions, reply_to)
                pending.overview = pending.overview or reply.kind in OVERVIEW_KINDS
            elif item.private:
                self._at(item.reply_room, group).add(reply.text, reply.html, (), item.reply_to)
            else:
                self._at_user(item.signal.sender.id).add(reply.text, reply.html, (), None)
        if overview is not None:
            self._overviews[item.room] = overview
        self._wake.set()

    async def notify(self, notice: Notice) -> None:
        markup = html_lib.escape(notice.text)
        if notice.to_user is not None:
            self._at_user(notice.to_user).add(notice.text, markup, (), None)
        else:
            group = notice.reply_to or ""
            self._at(notice.room, group).add(notice.text, markup, notice.mentions, notice.reply_to)
        self._wake.set()

    # ------------------------------------------------------------ gathering

    def _at(self, room: str, group: str) -> _Pending:
        return self._pending.setdefault((room, group), _Pending())

    def _at_user(self, user_id: str) -> _Pending:
        key = f"user:{user_id}"
        self._private[key] = user_id
        return self._pending.setdefault((key, ""), _Pending())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._window)  # let the burst gather
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("sending replies failed")

    async def flush(self) -> None:
        """Send everything gathered so far."""
        pending, self._pending = self._pending, {}
        overviews, self._overviews = self._overviews, {}
        for (destination, _), message in pending.items():
            room = await self._destination(destination)
            if room is None:
                continue
            user_id = self._private.get(destination)
            if user_id is not None and not self._joined(room, user_id):
                task = asyncio.create_task(self._deliver_when_joined(room, user_id, message))
                self._waiting.add(task)
                task.add_done_callback(self._waiting.discard)
                continue
            event_id = await self._send_notice(
                room,
                "\n\n".join(message.texts),
                "<br/><br/>".join(message.htmls),
                tuple(message.mentions),
                message.reply_to,
            )
            if event_id is not None and message.overview and not destination.startswith("user:"):
                await self._new_stack_message(room, event_id)
                overviews.pop(room, None)
        for room, overview in overviews.items():
            await self._refresh_stack(room, overview)

    async def _destination(self, destination: str) -> str | None:
        user_id = self._private.get(destination)
        if user_id is None:
            return destination
        return await self.direct_room(user_id)

    def _joined(self, room: str, user_id: str) -> bool:
        matrix_room = self._client.rooms.get(room)
        user = matrix_room.users.get(user_id) if matrix_room is not None else None
        return user is not None and not user.invited

    async def _deliver_when_joined(self, room: str, user_id: str, message: _Pending) -> None:
        try:
            async with asyncio.timeout(INVITE_WAIT):
                while not self._joined(room, user_id):
                    await self._client.synced.wait()
        except TimeoutError:
            log.info("%s did not accept the direct chat %s; private reply dropped", user_id, room)
            return
        await self._send_notice(
            room, "\n\n".join(message.texts), "<br/><br/>".join(message.htmls), (), None
        )

    # ------------------------------------------------------------ the stack message

    async def _refresh_stack(self, room: str, overview: Reply) -> None:
        current = self._memory.stack_messages.get(room)
        if self._edit and current is not None:
            content = edit_content(current, overview.text, overview.html)
            await self._room_send(room, "m.room.message", content)
            return
        if not self._edit:
            return  # without editing, the stack is shown only when someone asks
        event_id = await self._send_notice(room, overview.text, overview.html, (), None)
        if event_id is not None:
            await self._new_stack_message(room, event_id)

    async def _new_stack_message(self, room: str, event_id: str) -> None:
        self._memory.stack_messages[room] = event_id
        await self._store.set_value(STACK_MESSAGES_VALUE, self._memory.stack_messages_json())
        reaction = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": HAND_BUTTON}
        }
        await self._room_send(room, "m.reaction", reaction)

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
        self._memory.direct_rooms.add(room_id)
        await self._store.set_value(DIRECT_ROOMS_VALUE, self._memory.direct_rooms_json())
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

    async def _send_notice(
        self,
        room: str,
        text: str,
        markup: str,
        mentions: Sequence[str],
        reply_to: str | None,
    ) -> str | None:
        content = notice_content(text, markup, mentions, reply_to)
        return await self._room_send(room, "m.room.message", content)

    async def _room_send(self, room: str, event_type: str, content: dict[str, Any]) -> str | None:
        client = self._client
        if room not in client.rooms:
            log.warning("not in room %s; reply dropped", room)
            return None
        for _ in range(RATE_LIMIT_ATTEMPTS):
            if client.should_query_keys:
                # The sync loop may have emptied the query set meanwhile; nio then refuses.
                with contextlib.suppress(nio.LocalProtocolError):
                    await client.keys_query()
            await share_keys_by_policy(client, room, self._share_keys_with)
            response = await client.room_send(
                room, event_type, content, ignore_unverified_devices=True
            )
            if isinstance(response, nio.RoomSendResponse):
                event_id = str(response.event_id)
                self._memory.senders[event_id] = str(client.user_id)
                self.sent.append(event_id)
                return event_id
            retry_ms = getattr(response, "retry_after_ms", None)
            if getattr(response, "status_code", None) == "M_LIMIT_EXCEEDED" and retry_ms:
                # The server's rate limit, not a network error: wait as told, then resend.
                log.info("rate limited in %s; waiting %s ms", room, retry_ms)
                await asyncio.sleep(retry_ms / 1000)
                continue
            log.warning("sending to %s failed: %s", room, getattr(response, "message", response))
            return None
        log.warning("still rate limited in %s; reply dropped", room)
        return None
