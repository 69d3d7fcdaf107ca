"""Matrix user ids: the one place that knows their shape (`@localpart:server`)."""

from __future__ import annotations

import re

_USER_ID = re.compile(r"@[^:\s]+:\S+")
GUEST_PREFIX = "guest:"
"""person ids of in-room guests who are not on Matrix: `guest:<casefolded name>`"""


def is_user_id(text: str) -> bool:
    """A whole Matrix user id, such as `@ana:example.org`."""
    return len(text) <= 255 and _USER_ID.fullmatch(text) is not None


def localpart(user_id: str) -> str:
    """`ana` for `@ana:example.org`; anything that is not a user id comes back unchanged."""
    if not user_id.startswith("@"):
        return user_id
    return user_id[1:].split(":", 1)[0]


def is_guest_id(person_id: str) -> bool:
    return person_id.startswith(GUEST_PREFIX)


def guest_id(name: str) -> str:
    return GUEST_PREFIX + name.casefold()


def is_matrix_person(person_id: str) -> bool:
    """A person who can be mentioned and linked: a Matrix user, never a guest."""
    return person_id.startswith("@") and not is_guest_id(person_id)


def call_member_owner(state_key: str) -> str | None:
    """The user a call-membership state key belongs to, or None if it names nobody.

    The forms in use: `@ana:example.org` (MSC3401, one event per user),
    `@ana:example.org_DEVICE` and `_@ana:example.org_DEVICE_m.call` (MSC4143 and Element
    Call, one per device; the leading underscore sidesteps the server's own-key check, so
    the server does not check ownership and we must). A server name holds no underscore,
    so the user id ends at the first one after the colon.
    """
    key = state_key[1:] if state_key.startswith("_") else state_key
    localpart_end = key.find(":")
    if not key.startswith("@") or localpart_end < 2:
        return None
    server_end = key.find("_", localpart_end)
    user_id = key if server_end == -1 else key[:server_end]
    return user_id if is_user_id(user_id) else None
