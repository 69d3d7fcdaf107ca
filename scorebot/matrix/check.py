"""`scorebot check`: can the bot reach its homeserver, log in, encrypt and see its rooms?"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import Config
from scorebot.matrix.session import SessionError, open_session

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0
"""seconds for the reachability probe (nio itself would retry forever)"""


@dataclass(frozen=True, slots=True)
class CheckLine:
    ok: bool
    text: str


async def run_checks(config: Config, say: Callable[[CheckLine], None]) -> bool:
    """Report one line per check; True when all passed."""
    url = f"{config.matrix.homeserver}/_matrix/client/versions"
    try:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as reply:
            reachable = reply.status == 200
            detail = f"HTTP {reply.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        reachable, detail = False, str(error) or type(error).__name__
    say(CheckLine(reachable, f"homeserver {config.matrix.homeserver} reachable: {detail}"))
    if not reachable:
        return False
    try:
        client = await open_session(config)
    except SessionError as error:
        say(CheckLine(False, f"login: {error}"))
        return False
    try:
        say(CheckLine(True, f"login works: {client.user_id}, device {client.device_id}"))
        uploaded = client.olm is not None and bool(client.olm.account.shared)
        say(CheckLine(uploaded, _keys_text(client)))
        response = await client.joined_rooms()
        if not isinstance(response, nio.JoinedRoomsResponse):
            say(CheckLine(False, f"rooms joined: could not list them ({response})"))
            return False
        say(CheckLine(True, f"rooms joined: {len(response.rooms)}"))
        return uploaded
    finally:
        await client.close()


def _keys_text(client: Any) -> str:
    if client.olm is None:
        return "encryption keys uploaded: no (encryption is not available)"
    if not client.olm.account.shared:
        return "encryption keys uploaded: no"
    fingerprint = client.olm.account.identity_keys["ed25519"]
    return f"encryption keys uploaded: yes (device fingerprint {fingerprint})"
