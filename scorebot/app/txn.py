"""Transaction ids for outgoing messages: the one place their format is decided."""

from __future__ import annotations

import hashlib
import secrets


def txn_id(key: str, index: int) -> str:
    """The `index`-th message caused by idempotency key `key` (an event id, a tick key).

    Hashed so any key (with `$`, `/` or `:`) makes a short, path-safe id; the same key
    always gives the same id, so a resend after a crash is one event on the homeserver.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"sb{digest}.{index}"


def batch_id(first: str, count: int) -> str:
    """The id of `count` messages sent as one, starting with message `first`.

    Unique: a message is put into a batch once, and a batch is recorded before its send.
    """
    return f"{first}+{count}"


def companion_id(txn: str, what: str) -> str:
    """An event that goes with message `txn`, such as the hand button under a stack message."""
    return f"{txn}.{what}"


def storage_notice_id(room: str, what: str) -> str:
    """A notice that saving stopped (`what` = "down") or works again ("back"). Never
    stored, so never sent again after a restart: random, so that the homeserver does not
    take a later outage's notice for an earlier one."""
    digest = hashlib.sha256(room.encode()).hexdigest()[:16]
    return f"sbstore{digest}.{what}.{secrets.token_hex(8)}"
