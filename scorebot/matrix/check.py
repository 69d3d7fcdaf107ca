"""`scorebot check`: can the bot reach its homeserver, log in, encrypt, be read, see its rooms?"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import Config
from scorebot.matrix.check_storage import CheckLine, storage_lines
from scorebot.matrix.cross_signing import fingerprint
from scorebot.matrix.homeserver_api import HomeserverError
from scorebot.matrix.identity import IdentityStatus, identity_status
from scorebot.matrix.reachability import why_unreachable
from scorebot.matrix.session import SessionError, open_session
from scorebot.program import command
from scorebot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0
"""seconds for the reachability probe (nio itself would retry forever)"""


VERIFY_FROM_ELEMENT = (
    "to verify the bot from Element (no member needs to): compare the fingerprints above with "
    "the bot's session key where Element shows it; or log in to Element as the bot, enter "
    "the recovery key when it asks to verify that login, and from there verify your own "
    "account with the emoji (README: Trust and identity)"
)


async def run_checks(config: Config, say: Callable[[CheckLine], None]) -> bool:
    """Report one line per check; True when all passed."""
    disk = storage_lines(config.storage.data_dir, config.storage.database)
    for line in disk:
        say(line)
    if not await _reachable(config.matrix.homeserver, say):
        return False
    return all(line.ok for line in disk) and await _matrix_checks(config, say)


async def _reachable(homeserver: str, say: Callable[[CheckLine], None]) -> bool:
    url = f"{homeserver}/_matrix/client/versions"
    try:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as reply:
            reachable = reply.status == 200
            detail = "yes" if reachable else f"no, it says error {reply.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = why_unreachable(error)
        reachable, detail = False, f"no. {reason[0].upper()}{reason[1:]}."
    say(CheckLine(reachable, f"the homeserver at {homeserver} answers: {detail}"))
    return reachable


async def _matrix_checks(config: Config, say: Callable[[CheckLine], None]) -> bool:
    try:
        client = await open_session(config)
    except SessionError as error:
        say(CheckLine(False, f"login: {error}"))
        return False
    try:
        say(CheckLine(True, f"login works: {client.user_id}, device {client.device_id}"))
        uploaded = client.olm is not None and bool(client.olm.account.shared)
        say(CheckLine(uploaded, _keys_text(client)))
        try:
            status = await identity_status(client, config)
        except (HomeserverError, SessionError) as error:
            say(CheckLine(False, f"device signed by the bot's own identity: unknown ({error})"))
            return False
        say(CheckLine(status.device_signed, _identity_text(status, config)))
        say(CheckLine(True, _recovery_text(config), note=True))
        if status.master_key is not None:
            say(CheckLine(True, VERIFY_FROM_ELEMENT, note=True))
        response = await client.joined_rooms()
        if not isinstance(response, nio.JoinedRoomsResponse):
            say(CheckLine(False, f"rooms joined: could not list them ({response})"))
            return False
        say(CheckLine(True, f"rooms joined: {len(response.rooms)}"))
        if config.storage.database.exists():
            say(await _skipped_line(config))
        return uploaded and status.device_signed
    finally:
        await client.close()


async def _skipped_line(config: Config) -> CheckLine:
    """Events the bot saw but could not turn into signals, so nothing is dropped unseen."""
    store = await SqliteStore.open(config.storage.database)
    try:
        skipped = await store.skipped()
    finally:
        await store.close()
    text = f"events the bot could not handle and skipped: {skipped}"
    if skipped:
        text += " (their ids and reasons are in the database's skipped table)"
    return CheckLine(True, text, note=bool(skipped))


def _keys_text(client: Any) -> str:
    if client.olm is None:
        return "encryption keys uploaded: no (encryption is not available)"
    if not client.olm.account.shared:
        return "encryption keys uploaded: no"
    fingerprint = client.olm.account.identity_keys["ed25519"]
    return f"encryption keys uploaded: yes (device fingerprint {fingerprint})"


def _identity_text(status: IdentityStatus, config: Config) -> str:
    if status.master_key is None:
        return (
            "device signed by the bot's own identity: no; the account has no cross-signing "
            f"identity yet (`{command('run')}` creates one on its first start), so Element users "
            "cannot read the bot"
        )
    shown = f"(identity fingerprint {fingerprint(status.master_key)})"
    if status.device_signed:
        return f"device signed by the bot's own identity: yes {shown}"
    if status.keys_here:
        return f"device signed by the bot's own identity: no {shown}; `{command('run')}` signs it"
    return (
        f"device signed by the bot's own identity: no {shown}, and {config.storage.data_dir} "
        "does not hold the identity's keys: give the recovery key (matrix.recovery_key_file "
        f"or SCOREBOT_RECOVERY_KEY) for `{command('run')}` to recover them, or replace the "
        f"identity with `{command('reset-identity')}`"
    )


def _recovery_text(config: Config) -> str:
    path = config.storage.recovery_key_file
    if path.exists():
        return (
            f"recovery key: {path}; keep a copy somewhere else (a password manager): it brings "
            "the same identity back if the data folder is lost"
        )
    return (
        f"recovery key: not in {config.storage.data_dir} (it is written there when the bot "
        "creates its identity; an organizer should have kept a copy)"
    )
