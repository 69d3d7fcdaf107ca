"""The identity's files in the data folder: its private keys and the recovery key, both 0600.

The private keys file lets ordinary restarts sign new devices without the recovery key;
`in_secret_storage` says whether secret storage is known to hold the same keys, so a start
that crashed before writing it finishes the job. A recovery key can come from the
environment, from the file the config names, or from the data folder's own file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from scorebot.config import RECOVERY_KEY_ENV, Config
from scorebot.matrix import recovery_key
from scorebot.matrix.cross_signing import CrossSigningError, CrossSigningSeeds
from scorebot.matrix.session import SessionError, write_private


class KeyFileError(SessionError):
    """A key file or a given recovery key cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class LocalKeys:
    user_id: str
    seeds: CrossSigningSeeds
    in_secret_storage: bool
    """secret storage is known to hold these keys"""


@dataclass(frozen=True, slots=True)
class GivenKey:
    """A recovery key and where it came from (for messages; never the key itself)."""

    key: bytes
    source: str


def read_local_keys(path: Path, user_id: str) -> LocalKeys | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise KeyFileError(f"The key file {path} cannot be read ({error}).") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"The cross-signing key file {path} is damaged.")
    if data.get("user_id") != user_id:
        raise KeyFileError(
            f"{path} holds the keys of {data.get('user_id')}, not of {user_id}; "
            "use another data_dir or remove the file."
        )
    try:
        seeds = CrossSigningSeeds.from_secrets(data)
    except CrossSigningError as error:
        raise KeyFileError(f"The cross-signing key file {path} is damaged: {error}") from None
    return LocalKeys(user_id, seeds, data.get("in_secret_storage") is True)


def write_local_keys(path: Path, local: LocalKeys) -> None:
    document = {
        "user_id": local.user_id,
        **local.seeds.secrets(),
        "in_secret_storage": local.in_secret_storage,
    }
    write_private(path, json.dumps(document, indent=2) + "\n")


def write_recovery_key(path: Path, key: bytes) -> None:
    write_private(path, recovery_key.encode(key) + "\n")


def given_recovery_key(config: Config, *, data_folder_first: bool) -> GivenKey | None:
    """The first recovery key found, or None.

    When recovering, what the organizer gave comes first (the data folder's own file may be
    stale); when creating, the folder's own file, left by an interrupted start, comes first.
    """
    folder_file = config.storage.recovery_key_file
    given_file = config.matrix.recovery_key_file
    given = [
        (config.matrix.recovery_key, RECOVERY_KEY_ENV),
        (_read_text(given_file), f"matrix.recovery_key_file {given_file}"),
    ]
    folder = [(_read_text(folder_file), str(folder_file))]
    for text, source in folder + given if data_folder_first else given + folder:
        if text:
            try:
                return GivenKey(recovery_key.decode(text), source)
            except recovery_key.RecoveryKeyError as error:
                raise KeyFileError(
                    f"The recovery key from {source} is not usable: {error}"
                ) from None
    return None


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeyFileError(f"The recovery key file {path} cannot be read ({error}).") from None
