"""The account's secret storage on the homeserver: secrets kept encrypted in its account data.

Writing makes a new secret-storage key (described by `m.secret_storage.key.<id>`), stores
each secret under it and makes it the default last, so a crash never leaves a default key
that lacks the secrets. Reading opens the default key's secrets with the key given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from scorebot.matrix import secret_storage
from scorebot.matrix.homeserver_api import get_account_data, put_account_data
from scorebot.matrix.secret_storage import EncryptedSecret, SecretStorageError


class NoSecretStorage(SecretStorageError):
    """The account has no default secret-storage key."""


class WrongKey(SecretStorageError):
    """The key given is not the account's default secret-storage key."""


class MissingSecret(SecretStorageError):
    """The default key holds no secret of this name; the message is the name."""


async def store_secrets(client: Any, secrets: Mapping[str, str], key: bytes) -> str:
    """Store the secrets (name -> text) under a new default key; return its id."""
    key_id = secret_storage.new_key_id()
    await put_account_data(
        client, secret_storage.key_type(key_id), secret_storage.key_description(key)
    )
    for name, text in secrets.items():
        encrypted = secret_storage.encrypt(text, key, name)
        await put_account_data(client, name, {"encrypted": {key_id: encrypted.to_json()}})
    await put_account_data(client, secret_storage.DEFAULT_KEY_TYPE, {"key": key_id})
    return key_id


async def read_secrets(client: Any, names: Iterable[str], key: bytes) -> dict[str, str]:
    """The secrets of these names (name -> text), opened with the default key."""
    default = await get_account_data(client, secret_storage.DEFAULT_KEY_TYPE)
    key_id = default.get("key") if default else None
    if not isinstance(key_id, str):
        raise NoSecretStorage("no default secret-storage key")
    description = await get_account_data(client, secret_storage.key_type(key_id))
    if description is None:
        raise NoSecretStorage(f"the default key {key_id} is not described")
    if not secret_storage.key_matches(key, description):
        raise WrongKey(f"the key is not the default secret-storage key {key_id}")
    texts = {}
    for name in names:
        stored = await get_account_data(client, name) or {}
        encrypted = stored.get("encrypted")
        payload = encrypted.get(key_id) if isinstance(encrypted, dict) else None
        if payload is None:
            raise MissingSecret(name)
        texts[name] = secret_storage.decrypt(EncryptedSecret.from_json(payload), key, name)
    return texts
