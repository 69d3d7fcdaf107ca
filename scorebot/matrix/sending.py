"""One event into one room, as every scorebot account sends: room keys by the trust policy
first, then the send under its transaction id, tried again while the server fails."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import ShareKeysWith
from scorebot.matrix.device_trust import share_keys_by_policy

log = logging.getLogger(__name__)

SERVER_ERROR_PAUSE = 1.0
"""seconds before sending again after the homeserver failed on its side; doubled each time"""
SERVER_ERROR_LONGEST = 30.0
"""seconds: the longest wait between such tries"""


async def send_event(
    client: Any,
    room: str,
    event_type: str,
    content: dict[str, Any],
    *,
    txn: str,
    share_keys_with: ShareKeysWith,
    gate: asyncio.Semaphore | None = None,
) -> Any:
    """nio's answer to sending `content` into `room` under transaction id `txn` (under
    `gate`, if given, which bounds the sends in flight).

    nio waits and sends again by itself when the server says "too many requests" or cannot
    be reached, but a 5xx (a proxy's 502 while the homeserver restarts) comes back at once:
    then this waits and sends again under the same id, which the homeserver keeps once.
    """
    pause = SERVER_ERROR_PAUSE
    while True:
        async with gate if gate is not None else contextlib.nullcontext():
            if client.should_query_keys:
                # Another send or the sync loop may have emptied the query set; nio then
                # refuses.
                with contextlib.suppress(nio.LocalProtocolError):
                    await client.keys_query()
            await share_keys_by_policy(client, room, share_keys_with)
            response = await client.room_send(
                room, event_type, content, tx_id=txn, ignore_unverified_devices=True
            )
        if not _server_error(response):
            return response
        log.warning(
            "the homeserver could not take an event for %s (%s); trying again in %.0f s",
            room,
            getattr(response, "message", response),
            pause,
        )
        await asyncio.sleep(pause)
        pause = min(pause * 2, SERVER_ERROR_LONGEST)


def _server_error(response: Any) -> bool:
    """The homeserver (or a proxy in front of it) failed on its side: worth trying again."""
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return isinstance(response, nio.ErrorResponse) and isinstance(status, int) and status >= 500
