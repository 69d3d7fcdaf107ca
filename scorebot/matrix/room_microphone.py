"""`scorebot listen --config FILE`: a room microphone account that posts the cues it hears.

It runs on the facilitator's laptop as its own Matrix account, with its own device, crypto
store and cross-signed identity (the bot's session code, another data folder), joins the
meeting room and posts each cue as an `m.notice` ("Heard in the room: stack, Maria") with
the machine-readable `org.scorebot.signal` field. Only cues leave the laptop, never audio.

Nothing is posted twice: each cue's transaction id is derived from its key, so the
homeserver answers a resent cue with the event it already has, and the keys posted are
also kept in `<data_dir>/posted-cues.txt` so a restart skips them without asking.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, TextIO

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import Config, ConfigError, ShareKeysWith, SpeechConfig
from scorebot.matrix.identity import ensure_identity
from scorebot.matrix.sending import send_event
from scorebot.matrix.session import (
    SessionError,
    make_data_folder,
    open_session,
    require_login_means,
)
from scorebot.voice.cues import HeardCue, to_content
from scorebot.voice.hearing import Hearing, hear, prepare

log = logging.getLogger(__name__)

LEDGER_NAME = "posted-cues.txt"

_SYNC_FILTER = {"room": {"timeline": {"limit": 1}}}


def transaction_id(key: str) -> str:
    """The same cue key always gives the same transaction id (the homeserver's dedupe)."""
    return "scorebot-voice-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def speech_section(config: Config) -> SpeechConfig:
    if config.speech is None:
        raise ConfigError("The config file needs a [speech] section with room = the meeting room.")
    return config.speech


class Ledger:
    """The keys already posted, one per line, appended and flushed to disk after each post."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.keys = set(path.read_text(encoding="utf-8").split())
        except FileNotFoundError:
            self.keys = set()

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def add(self, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        self.keys.add(key)


class RoomMicrophone:
    """The logged-in microphone account in its one meeting room."""

    def __init__(self, client: Any, room_id: str, share_keys_with: ShareKeysWith) -> None:
        self.client = client
        self.room_id = room_id
        self.share_keys_with = share_keys_with

    @classmethod
    async def open(cls, config: Config) -> RoomMicrophone:
        speech = speech_section(config)
        require_login_means(config)
        make_data_folder(config)
        client = await open_session(config)
        try:
            await ensure_identity(client, config)
            joined = await client.join(speech.room)
            if not isinstance(joined, nio.JoinResponse):
                raise SessionError(
                    f"{config.matrix.user_id} could not join {speech.room}: invite it to the "
                    f"meeting room first ({getattr(joined, 'message', joined)})."
                )
            await client.sync(timeout=0, full_state=True, sync_filter=_SYNC_FILTER)
        except BaseException:
            await client.close()
            raise
        return cls(client, str(joined.room_id), config.bot.share_keys_with)

    async def post(self, heard: HeardCue) -> str:
        """Post one cue; the same key always ends in the same event."""
        client = self.client
        # Catch up on who is in the room, so people who joined since can read the cue.
        await client.sync(timeout=0, since=client.next_batch, sync_filter=_SYNC_FILTER)
        room = client.rooms.get(self.room_id)
        if room is not None and room.encrypted and not room.members_synced:
            await client.joined_members(self.room_id)
        response = await send_event(
            client,
            self.room_id,
            "m.room.message",
            to_content(heard),
            txn=transaction_id(heard.key),
            share_keys_with=self.share_keys_with,
        )
        if isinstance(response, nio.RoomSendResponse):
            return str(response.event_id)
        raise SessionError(
            f"Posting a cue into {self.room_id} failed: {getattr(response, 'message', response)}."
        )

    async def close(self) -> None:
        await self.client.close()


async def post_heard_cues(
    config: Config, out: TextIO, err: TextIO, *, recording: Path | None = None
) -> int:
    """Listen (to the microphone, or a recording) and post every cue heard; returns the
    number of cues posted. Ends when the recording does, or when cancelled."""
    speech = speech_section(config)
    hearing: Hearing = await asyncio.to_thread(prepare, speech, recording)
    ledger = Ledger(config.storage.data_dir / LEDGER_NAME)
    microphone = await RoomMicrophone.open(config)
    posted = 0
    try:
        async with contextlib.aclosing(hear(hearing, speech.room, out, err)) as cues:
            async for heard in cues:
                if heard.key in ledger:
                    log.info("cue %s was posted before; skipped", heard.key)
                    continue
                await microphone.post(heard)
                ledger.add(heard.key)
                posted += 1
    finally:
        await microphone.close()
    return posted
