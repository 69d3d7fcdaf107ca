"""The secret-storage recovery key as people see it: the spec's base58 encoding in groups of four.

A recovery key is 32 random bytes. Written for people it is `0x8B 0x01`, the 32 bytes and
a parity byte (the XOR of all the bytes before it), in base58 with the bitcoin alphabet,
with a space after every four characters: what Element shows and asks for.
"""

from __future__ import annotations

import secrets

import base58

KEY_BYTES = 32
PREFIX = b"\x8b\x01"
GROUP = 4
"""characters between spaces"""


class RecoveryKeyError(ValueError):
    """The text is not a recovery key; the message says why in plain words."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def encode(key: bytes) -> str:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a recovery key has {KEY_BYTES} bytes, not {len(key)}")
    data = PREFIX + key
    text = base58.b58encode(data + bytes([_parity(data)])).decode("ascii")
    return " ".join(text[start : start + GROUP] for start in range(0, len(text), GROUP))


def decode(text: str) -> bytes:
    """The 32 key bytes; spaces and line breaks anywhere are ignored."""
    compact = "".join(text.split())
    if not compact:
        raise RecoveryKeyError("The recovery key is empty.")
    try:
        data = base58.b58decode(compact)
    except ValueError:
        raise RecoveryKeyError(
            "The recovery key has characters that cannot be in one (0, O, I and l never are)."
        ) from None
    if _parity(data) != 0:
        raise RecoveryKeyError("The recovery key has a typo (its check digit does not match).")
    if not data.startswith(PREFIX) or len(data) != len(PREFIX) + KEY_BYTES + 1:
        raise RecoveryKeyError(
            "This is not a secret-storage recovery key (wrong length or start); "
            "it should be 12 groups of four characters."
        )
    return data[len(PREFIX) : len(PREFIX) + KEY_BYTES]


def _parity(data: bytes) -> int:
    parity = 0
    for byte in data:
        parity ^= byte
    return parity
