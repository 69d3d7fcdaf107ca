"""The bot's one durable device: log in once, then restore it with the same crypto store.

A new device on every start would break end-to-end encryption for the members: they would
have to share keys with a stranger each time. So the first start logs in with the password
and keeps user id, device id and access token in `<data_dir>/credentials.json` (0600,
written atomically); later starts call `restore_login` with the same `<data_dir>/crypto`
store, encrypted with a real pickle key (from the config or environment, or generated once
and kept 0600 in `<data_dir>/pickle.key`), never nio's default.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

from scorebot.config import Config
from scorebot.matrix.reachability import ReportingClient

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 60.0
"""seconds a single request may take before nio retries it with its own backoff"""


class SessionError(RuntimeError):
    """The bot could not log in or restore its device; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str


def read_credentials(path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise SessionError(f"The credentials file {path} cannot be read ({error}).") from None
    try:
        return Credentials(
            homeserver=str(data["homeserver"]),
            user_id=str(data["user_id"]),
            device_id=str(data["device_id"]),
            access_token=str(data["access_token"]),
        )
    except (KeyError, TypeError):
        raise SessionError(f"The credentials file {path} is incomplete.") from None


def make_private_folder(path: Path) -> None:
    """Create a folder (and its parents) only its owner can enter, whatever the umask."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_data_folder(config: Config) -> None:
    """The data folder holds the login, the keys and who has priority: owner only. One
    that others can enter is made private again (an older scorebot made it 0755)."""
    folder = config.storage.data_dir
    make_private_folder(folder)
    if stat.S_IMODE(folder.stat().st_mode) & 0o077:
        folder.chmod(0o700)
        log.warning("%s could be read by other users; now only its owner can", folder)
    make_private_folder(config.storage.database.parent)


def require_login_means(config: Config) -> None:
    """Refuse, before anything is created, when there is neither a saved login nor a password."""
    if not config.matrix.password and not config.storage.credentials.exists():
        raise _no_login_means()


def _no_login_means() -> SessionError:
    return SessionError(
        "There is no saved login yet and no password. For the first start, set "
        "matrix.password or matrix.password_file in the config, or SCOREBOT_PASSWORD."
    )


def write_private(path: Path, text: str) -> None:
    """Write a secret file atomically with mode 0600: a crash leaves the old or the new one."""
    make_private_folder(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_credentials(path: Path, credentials: Credentials) -> None:
    document = {
        "homeserver": credentials.homeserver,
        "user_id": credentials.user_id,
        "device_id": credentials.device_id,
        "access_token": credentials.access_token,
    }
    write_private(path, json.dumps(document, indent=2) + "\n")


def pickle_key(config: Config) -> str:
    """The crypto store's key: configured, or generated once and kept beside the store."""
    if config.storage.pickle_key:
        return config.storage.pickle_key
    path = config.storage.pickle_key_file
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    key = secrets.token_urlsafe(32)
    write_private(path, key + "\n")
    log.info("generated a new pickle key in %s", path)
    return key


def new_client(config: Config) -> Any:
    """An AsyncClient with a persistent crypto store; not yet logged in."""
    make_private_folder(config.storage.crypto_dir)
    client_config = nio.AsyncClientConfig(
        encryption_enabled=True,
        # We keep our own sync position, saved only after the signals before it committed.
        store_sync_tokens=False,
        pickle_key=pickle_key(config),
        request_timeout=REQUEST_TIMEOUT,
    )
    return ReportingClient(
        config.matrix.homeserver,
        config.matrix.user_id,
        store_path=str(config.storage.crypto_dir),
        config=client_config,
    )


async def open_session(config: Config) -> Any:
    """A logged-in client on the bot's durable device, with its keys uploaded.

    Raises SessionError with a plain sentence if that is not possible.
    """
    require_login_means(config)
    client = new_client(config)
    try:
        await _log_in(client, config)
        if client.should_upload_keys:
            response = await client.keys_upload()
            if not isinstance(response, nio.KeysUploadResponse):
                raise SessionError(f"Uploading the encryption keys failed: {response}.")
            log.info("uploaded device keys for %s", client.device_id)
    except BaseException:
        await client.close()
        raise
    return client


async def _log_in(client: Any, config: Config) -> None:
    path = config.storage.credentials
    stored = read_credentials(path)
    if stored is not None:
        if stored.user_id != config.matrix.user_id:
            raise SessionError(
                f"{path} belongs to {stored.user_id}, but matrix.user_id is "
                f"{config.matrix.user_id}; use another data_dir or remove the file."
            )
        client.restore_login(stored.user_id, stored.device_id, stored.access_token)
        response = await client.whoami()
        if isinstance(response, nio.WhoamiResponse):
            log.info("restored device %s for %s", stored.device_id, stored.user_id)
            return
        code = getattr(response, "status_code", None)
        if code in {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}:
            raise SessionError(
                f"The homeserver no longer accepts the stored login in {path} (the device was "
                "probably logged out); remove that file to log in again as a new device."
            )
        raise SessionError(f"The homeserver did not confirm the stored login: {response}.")
    if not config.matrix.password:
        raise _no_login_means()
    response = await client.login(config.matrix.password, device_name=config.matrix.device_name)
    if not isinstance(response, nio.LoginResponse):
        raise SessionError(f"Logging in as {config.matrix.user_id} failed: {response.message}.")
    write_credentials(
        path,
        Credentials(
            homeserver=config.matrix.homeserver,
            user_id=response.user_id,
            device_id=response.device_id,
            access_token=response.access_token,
        ),
    )
    log.info("logged in as new device %s; credentials saved", response.device_id)
