"""An end-to-end encrypted Matrix member that plays a person in the demo and in tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import uuid4

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.matrix.cross_signing import device_signed_by_owner, published_identity
from scorebot.matrix.homeserver_api import query_keys
from scorebot.matrix.outbox import REPLY_IDS

logger = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
CALL_MEMBER = "org.matrix.msc3401.call.member"
RTC_MEMBER = "org.matrix.msc4143.rtc.member"
RAISED_HAND = "\U0001f590\ufe0f"
"""🖐️ as Element Call sends it: U+1F590 with the emoji variation selector"""

CALL_MEMBERSHIP_EXPIRES = 14_400_000
"""milliseconds (4 hours), what Element Call puts in `expires`"""

SYNC_TIMEOUT = 30_000
"""milliseconds the server may hold a sync open; without one sync_forever spins"""

DEFAULT_WAIT = 30.0
"""seconds; the waits take a `timeout` (hence the ASYNC109 noqa) so that running out of
time can say what was awaited and what had arrived"""

# Synapse's default event levels for a private room (tombstone 150 as in room version 12,
# Synapse 1.163's default, where creators outrank 100), plus the call membership events at 0 so
# every member may join a call, which is what Element does for call-enabled rooms.
_CALL_ENABLED_EVENT_LEVELS: dict[str, int] = {
    "m.room.name": 50,
    "m.room.power_levels": 100,
    "m.room.history_visibility": 100,
    "m.room.canonical_alias": 50,
    "m.room.avatar": 50,
    "m.room.tombstone": 150,
    "m.room.server_acl": 100,
    "m.room.encryption": 100,
    CALL_MEMBER: 0,
    RTC_MEMBER: 0,
}

_T = TypeVar("_T")


class MemberError(RuntimeError):
    """The homeserver refused a request a member made."""


@dataclass(frozen=True, slots=True)
class Message:
    """An m.room.message of msgtype m.text or m.notice, as the member saw it."""

    room_id: str
    event_id: str
    sender: str
    msgtype: str
    body: str
    formatted_body: str | None
    in_reply_to: str | None
    """event id from m.relates_to.m.in_reply_to"""
    mentions: tuple[str, ...]
    """user ids from m.mentions"""
    replaces: str | None
    """event id this message edits (rel_type m.replace)"""
    new_body: str | None
    """m.new_content.body of an edit"""
    server_timestamp: int
    """milliseconds since the epoch"""
    decrypted: bool
    reply_ids: tuple[str, ...] = ()
    """scorebot's transaction ids of the replies this message carries (for audits)"""


@dataclass(frozen=True, slots=True)
class Reaction:
    """An m.reaction (rel_type m.annotation)."""

    room_id: str
    event_id: str
    sender: str
    key: str
    relates_to: str
    server_timestamp: int
    """milliseconds since the epoch"""
    decrypted: bool


@dataclass(frozen=True, slots=True)
class Redaction:
    """An m.room.redaction of an earlier event."""

    room_id: str
    event_id: str
    sender: str
    redacts: str
    server_timestamp: int
    """milliseconds since the epoch"""


Record = Message | Reaction | Redaction


@dataclass(frozen=True, slots=True)
class SeenIdentity:
    """Someone's cross-signing as a member's client checks it, the way Element does."""

    master_key: str | None
    """their identity's public master key, or None if they have none"""
    devices: Mapping[str, bool]
    """device id -> whether its owner cross-signed it (their self-signing key, signed by
    their master key, signed the device)"""


class Member:
    """A logged-in user with its own device, crypto store and background sync."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.records: list[Record] = []
        """everything seen so far, in sync order (own events included)"""
        self.undecryptable: list[str] = []
        """event ids of Megolm events this member could not decrypt"""
        self._changed = asyncio.Event()
        self._synced_once = False
        self._sync_task: asyncio.Task[None] | None = None
        self._joining: dict[str, asyncio.Task[None]] = {}

    @property
    def user_id(self) -> str:
        return str(self._client.user_id)

    @property
    def device_id(self) -> str:
        return str(self._client.device_id)

    @classmethod
    async def login(
        cls,
        homeserver_url: str,
        user_id: str,
        password: str,
        store_dir: Path,
        device_name: str = "scorebot demo member",
    ) -> Member:
        """Log in as a new device, upload its keys and start syncing."""
        await asyncio.to_thread(store_dir.mkdir, parents=True, exist_ok=True)
        config = nio.AsyncClientConfig(
            store_sync_tokens=True,
            encryption_enabled=True,
            # The store lives only as long as this device, so a random key is enough.
            pickle_key=secrets.token_hex(16),
        )
        client = nio.AsyncClient(homeserver_url, user_id, store_path=str(store_dir), config=config)
        response = await client.login(password, device_name=device_name)
        if not isinstance(response, nio.LoginResponse):
            await client.close()
            raise MemberError(f"login as {user_id} failed: {response}")
        if client.should_upload_keys:
            _check(await client.keys_upload(), nio.KeysUploadResponse, "keys upload")
        member = cls(client)
        member._start_sync()
        try:
            await member._wait_until(
                lambda: member._synced_once or None, DEFAULT_WAIT, "first sync"
            )
        except BaseException:
            await member.close()
            raise
        logger.info("%s logged in as device %s", user_id, member.device_id)
        return member

    async def close(self) -> None:
        """Stop syncing and close the HTTP session."""
        tasks = [*self._joining.values()]
        if self._sync_task is not None:
            tasks.append(self._sync_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.close()

    async def __aenter__(self) -> Member:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # Rooms

    async def create_room(
        self,
        name: str | None = None,
        *,
        encrypted: bool = True,
        invite: Sequence[str] = (),
        is_direct: bool = False,
        power_levels: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a call-enabled room and return its id once this member has synced it.

        `power_levels` is laid over the generated m.room.power_levels content; its
        `events` map is merged with the call-enabled one instead of replacing it.
        """
        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": MEGOLM},
                }
            )
        override: dict[str, Any] = dict(power_levels or {})
        override["events"] = {**_CALL_ENABLED_EVENT_LEVELS, **override.get("events", {})}
        preset = nio.RoomPreset.trusted_private_chat if is_direct else nio.RoomPreset.private_chat
        response = await self._client.room_create(
            name=name,
            invite=list(invite),
            is_direct=is_direct,
            preset=preset,
            initial_state=initial_state,
            power_level_override=override,
        )
        room_id = str(_check(response, nio.RoomCreateResponse, "room create").room_id)
        await self._wait_in_room(room_id)
        return room_id

    async def send_direct(
        self,
        user_id: str,
        body: str | None = None,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> str:
        """Open an encrypted direct-message room with `user_id` and return its id.

        With a `body`, wait until they have joined, so they can decrypt it, then send it.
        """
        room_id = await self.create_room(invite=[user_id], is_direct=True)
        if body is not None:
            await self.wait_member(room_id, user_id, timeout=timeout)
            await self.send_text(room_id, body)
        return room_id

    async def join(self, room_id: str) -> None:
        """Join a room this member was invited to, and wait until sync shows it."""
        _check(await self._client.join(room_id), nio.JoinResponse, f"join {room_id}")
        await self._wait_in_room(room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        _check(
            await self._client.room_invite(room_id, user_id),
            nio.RoomInviteResponse,
            f"invite {user_id} to {room_id}",
        )

    async def wait_member(
        self,
        room_id: str,
        user_id: str,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> None:
        """Wait until this member's sync shows `user_id` joined to the room."""

        def joined() -> bool | None:
            room = self._client.rooms.get(room_id)
            user = room.users.get(user_id) if room is not None else None
            return (user is not None and not user.invited) or None

        await self._wait_until(joined, timeout, f"{user_id} joined to {room_id}")

    def is_encrypted(self, room_id: str) -> bool:
        """Whether this member's client treats the room as end-to-end encrypted."""
        return bool(self._client.rooms[room_id].encrypted)

    # Sending

    async def send_text(
        self,
        room_id: str,
        body: str,
        reply_to: str | None = None,
        *,
        mentions: Iterable[str] = (),
        formatted_body: str | None = None,
        msgtype: str = "m.text",
    ) -> str:
        """Send a message (encrypted if the room is) and return its event id."""
        content: dict[str, Any] = {
            "msgtype": msgtype,
            "body": body,
            "m.mentions": {"user_ids": list(mentions)},
        }
        if formatted_body is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted_body
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self._send(room_id, "m.room.message", content)

    async def send_content(self, room_id: str, content: dict[str, Any]) -> str:
        """Send any m.room.message content as it is (encrypted if the room is)."""
        return await self._send(room_id, "m.room.message", content)

    async def set_display_name(self, name: str) -> None:
        _check(await self._client.set_displayname(name), nio.ProfileSetDisplayNameResponse, "name")

    async def send_reaction(
        self, room_id: str, target_event_id: str, key: str, *, encrypted: bool = False
    ) -> str:
        """React to an event and return the reaction's event id.

        Element Web and Element Call (matrix-js-sdk) send reactions in the clear even in
        encrypted rooms, as nio does; Element X (matrix-rust-sdk) encrypts them, which
        `encrypted=True` reproduces so the bot can be tested against both.
        """
        content = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": target_event_id, "key": key}
        }
        if encrypted:
            return await self._send_encrypted_reaction(room_id, content)
        return await self._send(room_id, "m.reaction", content)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send any content (encrypted if the room is), as a hostile client could."""
        if event_type == "m.reaction" and self.is_encrypted(room_id):
            # nio never encrypts reactions; in the clear, the server checks their shape.
            return await self._send_encrypted_reaction(room_id, content)
        return await self._send(room_id, event_type, content)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        """Redact an event and return the redaction's event id."""
        response = await self._client.room_redact(room_id, event_id, reason=reason)
        return str(_check(response, nio.RoomRedactResponse, f"redact {event_id}").event_id)

    # Element Call

    def call_state_key(self) -> str:
        return f"_{self.user_id}_{self.device_id}_m.call"

    async def join_call(self, room_id: str) -> str:
        """Publish an Element Call membership for this device; return its event id."""
        content = {
            "application": "m.call",
            "call_id": "",
            "scope": "m.room",
            "device_id": self.device_id,
            "expires": CALL_MEMBERSHIP_EXPIRES,
            "focus_active": {"type": "livekit", "focus_selection": "oldest_membership"},
            "foci_preferred": [],
            "m.call.intent": "audio",
        }
        return await self._put_call_member(room_id, content)

    async def raise_hand(self, room_id: str, membership_event_id: str) -> str:
        """Raise a hand the way Element Call does: 🖐️ on our own call membership event."""
        return await self.send_reaction(room_id, membership_event_id, RAISED_HAND)

    async def lower_hand(self, room_id: str, raised_hand_event_id: str) -> str:
        return await self.redact(room_id, raised_hand_event_id)

    async def leave_call(self, room_id: str) -> str:
        """Element Call leaves by emptying its membership state event."""
        return await self._put_call_member(room_id, {})

    # Receiving

    async def wait_for(
        self,
        predicate: Callable[[Record], bool],
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> Record:
        """Return the first record, already seen or still to come, that matches."""

        def first_match() -> Record | None:
            return next((record for record in self.records if predicate(record)), None)

        return await self._wait_until(first_match, timeout, "a matching record")

    async def wait_message(
        self,
        predicate: Callable[[Message], bool],
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> Message:
        record = await self.wait_for(
            lambda r: isinstance(r, Message) and predicate(r), timeout=timeout
        )
        assert isinstance(record, Message)
        return record

    async def wait_reply_to(
        self,
        event_id: str,
        sender: str | None = None,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> Message:
        """Wait for a message whose m.in_reply_to is `event_id` (optionally from `sender`)."""
        return await self.wait_message(
            lambda m: m.in_reply_to == event_id and (sender is None or m.sender == sender),
            timeout=timeout,
        )

    async def wait_reaction(
        self,
        relates_to: str,
        key: str | None = None,
        sender: str | None = None,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> Reaction:
        record = await self.wait_for(
            lambda r: (
                isinstance(r, Reaction)
                and r.relates_to == relates_to
                and (key is None or r.key == key)
                and (sender is None or r.sender == sender)
            ),
            timeout=timeout,
        )
        assert isinstance(record, Reaction)
        return record

    async def wait_redaction(
        self,
        redacts: str,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> Redaction:
        record = await self.wait_for(
            lambda r: isinstance(r, Redaction) and r.redacts == redacts, timeout=timeout
        )
        assert isinstance(record, Redaction)
        return record

    async def identity_of(self, user_id: str) -> SeenIdentity:
        """Ask the homeserver for someone's keys (/keys/query) and check the signatures."""
        query = await query_keys(self._client, [user_id])
        devices = (query.get("device_keys") or {}).get(user_id) or {}
        return SeenIdentity(
            master_key=published_identity(query, user_id).master,
            devices={
                device_id: device_signed_by_owner(query, user_id, device_id)
                for device_id in devices
            },
        )

    async def wait_undecryptable(
        self,
        event_id: str | None = None,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> str:
        """Wait until an event (this one, or any) could not be decrypted; return its id."""

        def seen() -> str | None:
            if event_id is None:
                return self.undecryptable[0] if self.undecryptable else None
            return event_id if event_id in self.undecryptable else None

        return await self._wait_until(seen, timeout, f"undecryptable {event_id or 'event'}")

    # Internals

    def _start_sync(self) -> None:
        client = self._client
        client.add_event_callback(self._on_message, (nio.RoomMessageText, nio.RoomMessageNotice))
        client.add_event_callback(self._on_reaction, nio.ReactionEvent)
        client.add_event_callback(self._on_redaction, nio.RedactionEvent)
        client.add_event_callback(self._on_undecryptable, nio.MegolmEvent)
        client.add_response_callback(self._on_sync, nio.SyncResponse)
        self._sync_task = asyncio.create_task(
            client.sync_forever(timeout=SYNC_TIMEOUT, full_state=True),
            name=f"sync {self.user_id}",
        )
        # Waiters must wake up and see the error if sync dies, not sit out their timeout.
        self._sync_task.add_done_callback(lambda _: self._notify())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(
        self,
        check: Callable[[], _T | None],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> _T:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = check()
                    if result is not None:
                        return result
                    task = self._sync_task
                    if task is not None and task.done():
                        raise MemberError(f"{self.user_id} stopped syncing") from (
                            None if task.cancelled() else task.exception()
                        )
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{self.user_id} waited {timeout:.0f} s for {what}; "
                f"last records: {self.records[-5:]}"
            ) from None

    async def _wait_in_room(self, room_id: str) -> None:
        # nio learns about joined rooms only from sync, and refuses to send to unknown rooms.
        await self._wait_until(
            lambda: room_id in self._client.rooms or None, DEFAULT_WAIT, f"room {room_id}"
        )

    async def _prepare_encryption(self, room_id: str) -> None:
        """Bring members and device lists up to date and share our Megolm session."""
        client = self._client
        room = client.rooms[room_id]
        if not room.encrypted:
            return
        if not room.members_synced:
            _check(await client.joined_members(room_id), nio.JoinedMembersResponse, "members")
        # nio only queries keys before sending while members are unsynced; someone who joined
        # since then would otherwise not get the session until the sync loop catches up.
        if client.should_query_keys:
            # The sync loop may have emptied the query set meanwhile; nio then refuses.
            with contextlib.suppress(nio.LocalProtocolError):
                await client.keys_query()
        if client.olm.should_share_group_session(room_id):
            in_flight = client.sharing_session.get(room_id)
            if in_flight is not None:
                await in_flight.wait()
            else:
                await client.share_group_session(room_id, ignore_unverified_devices=True)

    async def _send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        await self._wait_in_room(room_id)
        await self._prepare_encryption(room_id)
        response = await self._client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        return str(_check(response, nio.RoomSendResponse, f"send {event_type}").event_id)

    async def _send_encrypted_reaction(self, room_id: str, content: dict[str, Any]) -> str:
        # room_send never encrypts m.reaction, so encrypt here and PUT the result directly.
        await self._wait_in_room(room_id)
        await self._prepare_encryption(room_id)
        event_type, encrypted = self._client.encrypt(room_id, "m.reaction", content)
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/{event_type}/{uuid4()}"
        headers = {
            "Authorization": f"Bearer {self._client.access_token}",
            "Content-Type": "application/json",
        }
        response = await self._client.send("PUT", path, json.dumps(encrypted), headers)
        body = await response.json()
        if response.status != 200 or "event_id" not in body:
            raise MemberError(f"encrypted reaction failed: HTTP {response.status}: {body}")
        return str(body["event_id"])

    async def _put_call_member(self, room_id: str, content: dict[str, Any]) -> str:
        return await self.put_state(room_id, CALL_MEMBER, content, self.call_state_key())

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str
    ) -> str:
        """Set a state event under any key the server lets this member write."""
        await self._wait_in_room(room_id)
        response = await self._client.room_put_state(
            room_id, event_type, content, state_key=state_key
        )
        return str(_check(response, nio.RoomPutStateResponse, f"state {event_type}").event_id)

    def _on_message(self, room: Any, event: Any) -> None:
        # Anyone can send any JSON: a field of the wrong type reads as absent, so a
        # hostile message cannot end this member's sync loop.
        content = _object(event.source.get("content"))
        relates_to = _object(content.get("m.relates_to"))
        in_reply_to = _text(_object(relates_to.get("m.in_reply_to")).get("event_id"))
        edit = relates_to.get("rel_type") == "m.replace"
        replaces = _text(relates_to.get("event_id")) if edit else None
        new_content = _object(content.get("m.new_content"))
        mentions = _object(content.get("m.mentions")).get("user_ids")
        if not isinstance(mentions, list):
            mentions = []
        self._record(
            Message(
                room_id=room.room_id,
                event_id=event.event_id,
                sender=event.sender,
                msgtype=str(content.get("msgtype", "")),
                body=event.body,
                formatted_body=_text(event.formatted_body),
                in_reply_to=in_reply_to,
                mentions=tuple(str(user_id) for user_id in mentions),
                replaces=replaces,
                new_body=_text(new_content.get("body")) if replaces else None,
                server_timestamp=event.server_timestamp,
                decrypted=bool(event.decrypted),
                reply_ids=tuple(str(txn) for txn in content.get(REPLY_IDS) or ()),
            )
        )

    def _on_reaction(self, room: Any, event: Any) -> None:
        self._record(
            Reaction(
                room_id=room.room_id,
                event_id=event.event_id,
                sender=event.sender,
                key=event.key,
                relates_to=event.reacts_to,
                server_timestamp=event.server_timestamp,
                decrypted=bool(event.decrypted),
            )
        )

    def _on_redaction(self, room: Any, event: Any) -> None:
        self._record(
            Redaction(
                room_id=room.room_id,
                event_id=event.event_id,
                sender=event.sender,
                redacts=event.redacts,
                server_timestamp=event.server_timestamp,
            )
        )

    def _on_undecryptable(self, room: Any, event: Any) -> None:
        logger.warning(
            "%s could not decrypt %s from %s in %s (session %s)",
            self.user_id,
            event.event_id,
            event.sender,
            room.room_id,
            event.session_id,
        )
        self.undecryptable.append(event.event_id)
        self._notify()

    def _on_sync(self, response: Any) -> None:
        for room_id in response.rooms.invite:
            if room_id not in self._joining:
                # A task, because nio awaits callbacks inside its sync loop.
                self._joining[room_id] = asyncio.create_task(self._accept_invite(room_id))
        self._synced_once = True
        self._notify()

    async def _accept_invite(self, room_id: str) -> None:
        response = await self._client.join(room_id)
        if isinstance(response, nio.JoinResponse):
            logger.info("%s accepted the invite to %s", self.user_id, room_id)
        else:
            logger.warning("%s could not join %s: %s", self.user_id, room_id, response)

    def _record(self, record: Record) -> None:
        self.records.append(record)
        self._notify()


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _check(response: Any, expected: type[_T], what: str) -> _T:
    if not isinstance(response, expected):
        raise MemberError(f"{what} failed: {response}")
    return response
