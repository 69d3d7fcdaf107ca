"""The meeting room `[speech]` names, for in-process listening: its id, its members, its inbox.

This is the one place where cues heard by the bot's own computer meet Matrix: the room
address is resolved, names are looked up among the room's members, and each signal goes
onto the one inbox as an `Inbound` for that room (replies go to the room, unthreaded).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.app.items import Inbound, InRoom, Item
from scorebot.config import SpeechConfig
from scorebot.core.model import Signal
from scorebot.matrix.session import SessionError

log = logging.getLogger(__name__)


async def listen_in_room(
    client: Any, speech: SpeechConfig, inbox: asyncio.Queue[Item]
) -> Coroutine[Any, Any, None]:
    """Get ready to hear the room (the room's id, the model, the microphone) and return the
    listening to run as a task.

    What keeps it from starting (an unknown room, no model, no microphone) is raised here,
    before the bot says it runs.
    """
    from scorebot.voice.hearing import prepare
    from scorebot.voice.source import hear_into

    room_id = speech.room
    if room_id.startswith("#"):
        found = await client.room_resolve_alias(room_id)
        if not isinstance(found, nio.RoomResolveAliasResponse):
            raise SessionError(f"speech.room {room_id} is not a room address the server knows.")
        room_id = str(found.room_id)
    hearing = await asyncio.to_thread(prepare, speech)

    def members() -> dict[str, str]:
        room = client.rooms.get(room_id)
        if room is None:
            return {}
        return {uid: str(room.user_name(uid) or uid) for uid in room.users}

    def room_name() -> str:
        room = client.rooms.get(room_id)
        return str(room.display_name) if room is not None else ""

    def deliver(signal: Signal) -> None:
        inbox.put_nowait(Inbound(signal, room_id, InRoom()))

    async def listening() -> None:
        # Names are found among the room's members: wait until sync has brought them.
        while room_id not in client.rooms:
            await client.synced.wait()
        log.info("listening in the room for %s on %s", room_id, hearing.where)
        await hear_into(hearing, deliver, members, room_name=room_name)

    return listening()
