"""Cross-signing keys and their JSON, as the spec's "Cross-signing" section defines them (pure).

An account's identity is its master key. The master key signs a self-signing key, which
signs the account's own devices, and a user-signing key, which signs other people's master
keys. A device is "signed by its owner" when its device keys carry a valid signature by
a self-signing key that carries a valid signature by the master key: Element's rule for
which devices may send to and read from its users.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scorebot.matrix.signed_json import (
    SEED_BYTES,
    decode_base64,
    encode_base64,
    has_valid_signature,
    public_key,
    sign,
    with_signature,
)

MASTER = "master"
SELF_SIGNING = "self_signing"
USER_SIGNING = "user_signing"
USAGES = (MASTER, SELF_SIGNING, USER_SIGNING)
SECRET_NAMES = {usage: f"m.cross_signing.{usage}" for usage in USAGES}
"""the secret-storage names (and account data types) of the three private keys"""


class CrossSigningError(ValueError):
    """Key material is malformed; the message says which."""


@dataclass(frozen=True, slots=True)
class CrossSigningSeeds:
    """The three private keys (32-byte Ed25519 seeds)."""

    master: bytes
    self_signing: bytes
    user_signing: bytes

    @classmethod
    def generate(cls) -> CrossSigningSeeds:
        return cls(*(secrets.token_bytes(SEED_BYTES) for _ in USAGES))

    @classmethod
    def from_secrets(cls, texts: Mapping[str, str]) -> CrossSigningSeeds:
        """From the unpadded base64 texts kept under the usages (or secret names)."""
        seeds = []
        for usage in USAGES:
            text = texts.get(usage, texts.get(SECRET_NAMES[usage]))
            if not isinstance(text, str):
                raise CrossSigningError(f"The {usage} key is missing.")
            try:
                seed = decode_base64(text.strip())
            except ValueError:
                raise CrossSigningError(f"The {usage} key is not base64.") from None
            if len(seed) != SEED_BYTES:
                raise CrossSigningError(f"The {usage} key is not a 32-byte Ed25519 key.")
            seeds.append(seed)
        return cls(*seeds)

    def secrets(self) -> dict[str, str]:
        """Usage -> the private key as unpadded base64, the form secret storage keeps."""
        return {usage: encode_base64(seed) for usage, seed in self._by_usage().items()}

    def public(self) -> PublicKeys:
        return PublicKeys(*(public_key(seed) for seed in self._by_usage().values()))

    def _by_usage(self) -> dict[str, bytes]:
        return {
            MASTER: self.master,
            SELF_SIGNING: self.self_signing,
            USER_SIGNING: self.user_signing,
        }


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """The three public keys (unpadded base64)."""

    master: str
    self_signing: str
    user_signing: str


@dataclass(frozen=True, slots=True)
class PublishedIdentity:
    """What the homeserver publishes for one account (from POST /keys/query)."""

    master: str | None
    """the master public key, or None if the account has no cross-signing identity"""
    self_signing: str | None
    """the self-signing public key, only if validly signed by that master key"""


def key_id(key: str) -> str:
    return f"ed25519:{key}"


def fingerprint(key: str) -> str:
    """A public key in groups of four characters, easier to read aloud and compare."""
    return " ".join(key[start : start + 4] for start in range(0, len(key), 4))


def key_object(user_id: str, usage: str, key: str) -> dict[str, Any]:
    """An unsigned cross-signing key object."""
    return {"user_id": user_id, "usage": [usage], "keys": {key_id(key): key}}


def signing_keys_upload(user_id: str, seeds: CrossSigningSeeds) -> dict[str, Any]:
    """The body of POST /keys/device_signing/upload (without `auth`): the three public keys,
    the self-signing and user-signing keys signed by the master key."""
    public = seeds.public()
    master_id = key_id(public.master)

    def signed_by_master(usage: str, key: str) -> dict[str, Any]:
        unsigned = key_object(user_id, usage, key)
        return with_signature(unsigned, user_id, master_id, sign(seeds.master, unsigned))

    return {
        "master_key": key_object(user_id, MASTER, public.master),
        "self_signing_key": signed_by_master(SELF_SIGNING, public.self_signing),
        "user_signing_key": signed_by_master(USER_SIGNING, public.user_signing),
    }


def signed_device(
    user_id: str, device_keys: Mapping[str, Any], seeds: CrossSigningSeeds
) -> dict[str, Any]:
    """The device's keys, as the server holds them, with the self-signing key's signature."""
    ssk = seeds.public().self_signing
    return with_signature(device_keys, user_id, key_id(ssk), sign(seeds.self_signing, device_keys))


def published_identity(query: Mapping[str, Any], user_id: str) -> PublishedIdentity:
    """The identity a /keys/query response shows for `user_id`."""
    master = _single_key(_by_user(query, "master_keys", user_id), user_id, MASTER)
    if master is None:
        return PublishedIdentity(None, None)
    ssk_object = _by_user(query, "self_signing_keys", user_id)
    ssk = _single_key(ssk_object, user_id, SELF_SIGNING)
    if ssk is None or not has_valid_signature(ssk_object, user_id, key_id(master), master):
        return PublishedIdentity(master, None)
    return PublishedIdentity(master, ssk)


def device_signed_by_owner(query: Mapping[str, Any], user_id: str, device_id: str) -> bool:
    """Whether the response shows the device signed by its owner's self-signing key, which
    the owner's master key signed."""
    ssk = published_identity(query, user_id).self_signing
    device = device_keys(query, user_id, device_id)
    if ssk is None or device is None:
        return False
    return has_valid_signature(device, user_id, key_id(ssk), ssk)


def device_keys(query: Mapping[str, Any], user_id: str, device_id: str) -> dict[str, Any] | None:
    """A device's keys object from a /keys/query response, if it is there and names itself."""
    devices = query.get("device_keys")
    by_user = devices.get(user_id) if isinstance(devices, Mapping) else None
    device = by_user.get(device_id) if isinstance(by_user, Mapping) else None
    if not isinstance(device, dict):
        return None
    if device.get("user_id") != user_id or device.get("device_id") != device_id:
        return None
    return device


def device_ed25519(device: Mapping[str, Any]) -> str | None:
    keys = device.get("keys")
    value = keys.get(f"ed25519:{device.get('device_id')}") if isinstance(keys, Mapping) else None
    return value if isinstance(value, str) else None


def _by_user(query: Mapping[str, Any], field: str, user_id: str) -> Mapping[str, Any]:
    table = query.get(field)
    value = table.get(user_id) if isinstance(table, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _single_key(obj: Mapping[str, Any], user_id: str, usage: str) -> str | None:
    """The one ed25519 key of a cross-signing key object of this user and usage."""
    usages = obj.get("usage")
    keys = obj.get("keys")
    if obj.get("user_id") != user_id or not isinstance(usages, list) or usage not in usages:
        return None
    if not isinstance(keys, Mapping) or len(keys) != 1:
        return None
    ((name, key),) = keys.items()
    if not isinstance(key, str) or name != key_id(key):
        return None
    return key
