"""The bot's own cross-signing identity: create it once, recover it, keep the device signed.

Element shows and reaches only devices that their owners cross-signed, so the bot signs its
own device. The first start creates the identity: three private keys, kept in
`<data_dir>/cross-signing-keys.json` (0600) for ordinary restarts and in the account's
secret storage under a new recovery key, written once to `<data_dir>/recovery-key.txt`.
A start without those local keys (a new or lost data folder) recovers them from secret
storage with the recovery key the organizer kept, so members see the same identity. An
identity is replaced only by `scorebot reset-identity`, never on its own.

Order of steps, so that a crash at any point is mended by the next start: local files
first, then the public keys on the server, then secret storage (marked done in the local
file), then the device's signature.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorebot.config import Config
from scorebot.matrix import homeserver_api, recovery_key
from scorebot.matrix.account_secrets import (
    MissingSecret,
    NoSecretStorage,
    WrongKey,
    read_secrets,
    store_secrets,
)
from scorebot.matrix.cross_signing import (
    MASTER,
    SECRET_NAMES,
    CrossSigningError,
    CrossSigningSeeds,
    PublishedIdentity,
    device_keys,
    device_signed_by_owner,
    fingerprint,
    key_object,
    published_identity,
    signed_device,
    signing_keys_upload,
)
from scorebot.matrix.homeserver_api import HomeserverError
from scorebot.matrix.identity_files import (
    GivenKey,
    KeyFileError,
    LocalKeys,
    given_recovery_key,
    read_local_keys,
    write_local_keys,
    write_recovery_key,
)
from scorebot.matrix.secret_storage import SecretStorageError
from scorebot.matrix.session import SessionError
from scorebot.matrix.signed_json import signing_payload, with_signature
from scorebot.program import command

log = logging.getLogger(__name__)


class IdentityError(SessionError):
    """The bot cannot sign its device; the message says what is wrong and the ways out."""


@dataclass(frozen=True, slots=True)
class IdentityReport:
    """What the start-up did and found."""

    master_key: str
    """the identity's public master key (unpadded base64)"""
    device_signed: bool
    created: bool = False
    recovered: bool = False
    """the private keys came from secret storage (the data folder had none)"""
    signed_now: bool = False
    """the device's signature was missing and has been uploaded"""
    recovery_key_file: Path | None = None
    """the recovery key file written by this start"""
    recovery_key_source: str | None = None
    """where the recovery key of a new identity came from, when it was given, not written"""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.master_key)


@dataclass(frozen=True, slots=True)
class IdentityStatus:
    """What `scorebot check` reports, read without changing anything."""

    master_key: str | None
    device_signed: bool
    keys_here: bool
    """this data folder holds the private keys of the published identity"""


# ---------------------------------------------------------------- start-up


async def ensure_identity(client: Any, config: Config) -> IdentityReport:
    """Make sure the logged-in device is signed by the account's own identity.

    Raises IdentityError (a SessionError) with one plain paragraph if it cannot.
    """
    try:
        return await _ensure(client, config)
    except (HomeserverError, CrossSigningError, SecretStorageError) as error:
        raise IdentityError(f"Setting up the bot's cross-signing failed: {error}") from None


async def _ensure(client: Any, config: Config) -> IdentityReport:
    user, device = str(client.user_id), str(client.device_id)
    query = await homeserver_api.query_keys(client, [user])
    published = published_identity(query, user)
    local = read_local_keys(config.storage.cross_signing_keys, user)
    created = recovered = False
    written: Path | None = None
    given: str | None = None
    if published.master is None:
        seeds, written, given = await _create(client, config, local)
        created = True
    elif (
        local is not None
        and local.seeds.public().master == published.master
        and (published.self_signing in {None, local.seeds.public().self_signing})
    ):
        seeds = local.seeds
        if not local.in_secret_storage:
            await _finish_secret_storage(client, config, local)
    else:
        seeds = await _recover(client, config, published)
        recovered = True
    if not created and published.self_signing != seeds.public().self_signing:
        # Same master key, but the server lost or never got the self-signing key.
        await _upload_public_keys(client, config, seeds)
        query = await homeserver_api.query_keys(client, [user])
    signed_now = await _sign_device(client, user, device, seeds, query)
    if signed_now:
        query = await homeserver_api.query_keys(client, [user])
    signed = device_signed_by_owner(query, user, device)
    if not signed:
        raise IdentityError(
            f"The bot's device {device} is still not signed by its own identity after "
            "uploading the signature; the homeserver did not keep it."
        )
    report = IdentityReport(
        master_key=seeds.public().master,
        device_signed=signed,
        created=created,
        recovered=recovered,
        signed_now=signed_now,
        recovery_key_file=written,
        recovery_key_source=given,
    )
    _announce(report)
    return report


async def reset_identity(client: Any, config: Config) -> IdentityReport:
    """Replace the account's identity with a new one (needs the password); members will see
    that the bot's identity changed."""
    if not config.matrix.password:
        raise IdentityError(
            "Replacing the bot's identity needs its password: set matrix.password, "
            "matrix.password_file or SCOREBOT_PASSWORD."
        )
    user, device = str(client.user_id), str(client.device_id)
    seeds = CrossSigningSeeds.generate()
    key = recovery_key.new_key()
    try:
        # Upload first: a wrong password must leave the old identity and its secret
        # storage as they were. The local files follow at once, before secret storage.
        await _upload_public_keys(client, config, seeds)
        written = config.storage.recovery_key_file
        write_recovery_key(written, key)
        write_local_keys(config.storage.cross_signing_keys, LocalKeys(user, seeds, False))
        await _store_secrets(client, seeds, key)
        write_local_keys(config.storage.cross_signing_keys, LocalKeys(user, seeds, True))
        query = await homeserver_api.query_keys(client, [user])
        await _sign_device(client, user, device, seeds, query)
        query = await homeserver_api.query_keys(client, [user])
    except (HomeserverError, SecretStorageError) as error:
        raise IdentityError(f"Replacing the bot's identity failed: {error}") from None
    report = IdentityReport(
        master_key=seeds.public().master,
        device_signed=device_signed_by_owner(query, user, device),
        created=True,
        signed_now=True,
        recovery_key_file=written,
    )
    log.warning(
        "replaced the bot's cross-signing identity; the new fingerprint is %s. Members' "
        "clients will say that the bot's identity changed. The new recovery key is in %s: "
        "keep a copy somewhere else; the old one no longer works.",
        report.fingerprint,
        written,
    )
    return report


async def identity_status(client: Any, config: Config) -> IdentityStatus:
    """The published identity and whether this device is signed by it; changes nothing."""
    user, device = str(client.user_id), str(client.device_id)
    query = await homeserver_api.query_keys(client, [user])
    published = published_identity(query, user)
    try:
        local = read_local_keys(config.storage.cross_signing_keys, user)
    except KeyFileError:
        local = None
    keys_here = (
        local is not None
        and published.master is not None
        and local.seeds.public().master == published.master
    )
    return IdentityStatus(
        master_key=published.master,
        device_signed=device_signed_by_owner(query, user, device),
        keys_here=keys_here,
    )


# ---------------------------------------------------------------- the three ways in


async def _create(
    client: Any, config: Config, local: LocalKeys | None
) -> tuple[CrossSigningSeeds, Path | None, str | None]:
    """A new identity for an account that has none (or resume one a crash interrupted):
    (keys, the recovery key file written, or where the given recovery key came from)."""
    user = str(client.user_id)
    seeds = local.seeds if local is not None else CrossSigningSeeds.generate()
    given = given_recovery_key(config, data_folder_first=True)
    written: Path | None = None
    if given is None:
        given = GivenKey(recovery_key.new_key(), "")
        written = config.storage.recovery_key_file
        write_recovery_key(written, given.key)
    state = LocalKeys(user, seeds, False)
    write_local_keys(config.storage.cross_signing_keys, state)
    await _upload_public_keys(client, config, seeds)
    await _finish_secret_storage(client, config, state, given)
    return seeds, written, None if written else given.source


async def _recover(client: Any, config: Config, published: PublishedIdentity) -> CrossSigningSeeds:
    """The published identity's private keys, from secret storage with the recovery key."""
    user = str(client.user_id)
    shown = fingerprint(published.master or "")
    reset = command("reset-identity")
    given = given_recovery_key(config, data_folder_first=False)
    if given is None:
        raise IdentityError(
            f"The account {user} already has a cross-signing identity (fingerprint {shown}), "
            f"but {config.storage.data_dir} does not hold its keys (the folder is new or was "
            "lost). Either give the recovery key the bot wrote on its first start "
            f"(matrix.recovery_key_file, or SCOREBOT_RECOVERY_KEY) so it comes back as the "
            f"same identity, or run `{reset}` to replace the identity "
            "(members will then see that the bot's identity changed)."
        )
    try:
        texts = await read_secrets(client, SECRET_NAMES.values(), given.key)
    except NoSecretStorage:
        raise IdentityError(
            f"The account {user} has no secret storage to recover its identity from; "
            f"run `{reset}` to replace the identity."
        ) from None
    except WrongKey:
        raise IdentityError(
            f"The recovery key from {given.source} does not open {user}'s secret storage (it "
            "belongs to another account, or the identity was replaced since). Give the "
            f"right recovery key, or run `{reset}`."
        ) from None
    except MissingSecret as missing:
        raise IdentityError(
            f"{user}'s secret storage has no {missing} key under the recovery key; "
            f"run `{reset}` to replace the identity."
        ) from None
    seeds = CrossSigningSeeds.from_secrets(texts)
    if seeds.public().master != published.master:
        raise IdentityError(
            f"{user}'s secret storage holds keys of another identity than the one the "
            f"homeserver publishes (fingerprint {shown}); run `{reset}`."
        )
    write_local_keys(config.storage.cross_signing_keys, LocalKeys(user, seeds, True))
    log.info("recovered the bot's cross-signing keys from secret storage (%s)", given.source)
    return seeds


async def _finish_secret_storage(
    client: Any, config: Config, local: LocalKeys, given: GivenKey | None = None
) -> None:
    """Put the keys into secret storage if a crash left that undone."""
    if given is None:
        given = given_recovery_key(config, data_folder_first=True)
        if given is None:
            log.warning(
                "the bot's cross-signing keys are not in secret storage yet and no recovery "
                "key is known here; they stay only in %s",
                config.storage.cross_signing_keys,
            )
            return
    await _store_secrets(client, local.seeds, given.key)
    write_local_keys(config.storage.cross_signing_keys, LocalKeys(local.user_id, local.seeds, True))


# ---------------------------------------------------------------- server steps


async def _upload_public_keys(client: Any, config: Config, seeds: CrossSigningSeeds) -> None:
    body = signing_keys_upload(str(client.user_id), seeds)
    await homeserver_api.upload_signing_keys(client, body, config.matrix.password)


async def _store_secrets(client: Any, seeds: CrossSigningSeeds, key: bytes) -> None:
    texts = {SECRET_NAMES[usage]: text for usage, text in seeds.secrets().items()}
    await store_secrets(client, texts, key)


async def _sign_device(
    client: Any, user: str, device: str, seeds: CrossSigningSeeds, query: Mapping[str, Any]
) -> bool:
    """Sign the device with the self-signing key (and the master key with the device, as
    Element does), unless the query shows it signed already. True if it uploaded."""
    if device_signed_by_owner(query, user, device):
        return False
    keys = device_keys(query, user, device)
    if keys is None:
        raise IdentityError(
            f"The homeserver does not list the keys of the bot's device {device}, so it "
            "cannot be signed; remove the credentials file to log in as a new device."
        )
    master = seeds.public().master
    master_object = key_object(user, MASTER, master)
    device_signature = client.olm.account.sign(signing_payload(master_object).decode("utf-8"))
    body = {
        user: {
            device: signed_device(user, keys, seeds),
            master: with_signature(master_object, user, f"ed25519:{device}", device_signature),
        }
    }
    await homeserver_api.upload_signatures(client, body)
    log.info("signed device %s with the bot's self-signing key", device)
    return True


def _announce(report: IdentityReport) -> None:
    if report.created and report.recovery_key_file is not None:
        log.warning(
            "created the bot's cross-signing identity (fingerprint %s). Its recovery key is "
            "in %s: keep a copy somewhere else (a password manager). If this data folder is "
            "lost, that key brings the same identity back (matrix.recovery_key_file or "
            "SCOREBOT_RECOVERY_KEY); without it members would see the bot's identity change.",
            report.fingerprint,
            report.recovery_key_file,
        )
    elif report.created:
        log.warning(
            "created the bot's cross-signing identity (fingerprint %s); its secret storage "
            "opens with the recovery key from %s: keep that key safe.",
            report.fingerprint,
            report.recovery_key_source,
        )
    log.info(
        "device signed by the bot's own identity: %s (fingerprint %s)",
        "yes" if report.device_signed else "no",
        report.fingerprint,
    )
