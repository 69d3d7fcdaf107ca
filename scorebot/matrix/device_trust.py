"""Which members' devices get the keys to read the bot's messages (`[bot] share_keys_with`).

"all" (the default) encrypts to every device in the room: members rarely verify their own
devices, and refusing them would silence the bot for exactly the people it serves.
"cross-signed" follows Element's "exclude insecure devices" rule: a device gets the room
keys only if its owner cross-signed it (its self-signing key, signed by its master key,
signed the device). nio has no cross-signing, so the check reads /keys/query itself and
keeps the others out with nio's device blacklist, which nio skips when it shares keys.
"""

from __future__ import annotations

import logging
from typing import Any

from scorebot.config import ShareKeysWith
from scorebot.matrix import homeserver_api
from scorebot.matrix.cross_signing import device_ed25519, device_keys, device_signed_by_owner

log = logging.getLogger(__name__)


async def share_keys_by_policy(client: Any, room_id: str, policy: ShareKeysWith) -> None:
    """Call before each send to `room_id`: exclude the devices the policy excludes from the
    room keys, and let back in those it no longer excludes.

    When that changes who may read, the room's outgoing session is dropped so nio starts a
    new one: an excluded device keeps nothing that reads later messages, and a device let
    back in gets the new session.
    """
    room = client.rooms.get(room_id)
    # Recording fakes of the client have neither; nio's olm is None without encryption.
    olm = getattr(client, "olm", None)
    if olm is None or not getattr(room, "encrypted", False):
        return
    users = list(room.users)
    devices = [
        device
        for user in users
        for device in olm.device_store.active_user_devices(user)
        if not (user == client.user_id and device.id == client.device_id)
    ]
    if not devices:
        return
    if policy is ShareKeysWith.ALL:
        allowed = {(device.user_id, device.id) for device in devices}
    else:
        allowed = await _signed_by_owner(client, users, devices)
    changed = False
    for device in devices:
        excluded = olm.is_device_blacklisted(device)
        if (device.user_id, device.id) in allowed:
            if excluded:
                client.unblacklist_device(device)
                changed = True
        elif not excluded:
            client.blacklist_device(device)
            changed = True
            log.info(
                "room keys withheld from %s's device %s: not cross-signed by its owner",
                device.user_id,
                device.id,
            )
    if changed:
        olm.outbound_group_sessions.pop(room_id, None)


async def _signed_by_owner(
    client: Any, users: list[str], devices: list[Any]
) -> set[tuple[str, str]]:
    """The devices whose owners cross-signed them, with the same key nio encrypts to.

    If the homeserver cannot be asked, no device counts as signed: with "cross-signed" the
    organizer chose to withhold rather than guess.
    """
    try:
        query = await homeserver_api.query_keys(client, users)
    except homeserver_api.HomeserverError as error:
        log.warning(
            "could not check members' cross-signing, so no device gets room keys: %s", error
        )
        return set()
    allowed = set()
    for device in devices:
        published = device_keys(query, device.user_id, device.id)
        if (
            published is not None
            and device_ed25519(published) == device.ed25519
            and device_signed_by_owner(query, device.user_id, device.id)
        ):
            allowed.add((device.user_id, device.id))
    return allowed
