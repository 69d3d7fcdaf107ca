"""The bot's cross-signing identity on a real Synapse: created, kept, mended, refused, reset."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from scorebot.cli import main
from scorebot.config import Config, load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.matrix import homeserver_api, recovery_key, secret_storage
from scorebot.matrix.check import run_checks
from scorebot.matrix.check_storage import CheckLine
from scorebot.matrix.cross_signing import (
    CrossSigningSeeds,
    device_signed_by_owner,
    published_identity,
)
from scorebot.matrix.identity import IdentityError, ensure_identity
from scorebot.matrix.session import SessionError, open_session
from tests.test_matrix_helpers import register_bot, write_bot_config

pytestmark = [pytest.mark.synapse, pytest.mark.asyncio(loop_scope="session")]


@contextlib.asynccontextmanager
async def session(config: Config) -> AsyncIterator[Any]:
    client = await open_session(config)
    try:
        yield client
    finally:
        await client.close()


async def _published(client: Any) -> tuple[str | None, bool]:
    """(the account's master key, whether the client's device is signed by it)."""
    user = str(client.user_id)
    query = await homeserver_api.query_keys(client, [user])
    return published_identity(query, user).master, device_signed_by_owner(
        query, user, str(client.device_id)
    )


async def _bot(homeserver: Homeserver, folder: Path, matrix_extra: str = "") -> Path:
    bot_id = await register_bot(homeserver)
    return write_bot_config(homeserver, bot_id, folder, matrix_extra=matrix_extra)


async def test_the_first_start_creates_an_identity_and_later_starts_keep_it(
    homeserver: Homeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    caplog.set_level(logging.DEBUG, logger="scorebot")
    async with session(config) as client:
        first = await ensure_identity(client, config)
        again = await ensure_identity(client, config)
        master, signed = await _published(client)

    assert first.created and first.signed_now and first.device_signed
    assert not again.created and not again.signed_now and again.master_key == first.master_key
    assert master == first.master_key and signed
    storage = config.storage
    for path in (storage.recovery_key_file, storage.cross_signing_keys):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The organizer is told where the recovery key is, and the secrets are never logged.
    assert str(storage.recovery_key_file) in caplog.text
    assert "keep a copy somewhere else" in caplog.text
    key_text = storage.recovery_key_file.read_text().strip()
    seeds = json.loads(storage.cross_signing_keys.read_text())
    for secret in [key_text, key_text.replace(" ", ""), *seeds.values()]:
        if isinstance(secret, str) and len(secret) > 20:
            assert secret not in caplog.text


async def test_the_secret_storage_holds_the_keys_under_the_written_recovery_key(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    async with session(config) as client:
        report = await ensure_identity(client, config)
        default = await homeserver_api.get_account_data(client, secret_storage.DEFAULT_KEY_TYPE)
        assert default is not None
        key_id = default["key"]
        description = await homeserver_api.get_account_data(client, secret_storage.key_type(key_id))
        stored = {
            usage: await homeserver_api.get_account_data(client, f"m.cross_signing.{usage}")
            for usage in ("master", "self_signing", "user_signing")
        }

    key = recovery_key.decode(config.storage.recovery_key_file.read_text())
    assert description is not None and secret_storage.key_matches(key, description)
    texts = {
        usage: secret_storage.decrypt(
            secret_storage.EncryptedSecret.from_json(content["encrypted"][key_id]),
            key,
            f"m.cross_signing.{usage}",
        )
        for usage, content in stored.items()
        if content is not None
    }
    assert CrossSigningSeeds.from_secrets(texts).public().master == report.master_key


async def test_a_new_device_is_signed_at_start_when_the_keys_are_kept(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    async with session(config) as client:
        first = await ensure_identity(client, config)
        old_device = client.device_id
    # The device is gone (logged out elsewhere, credentials removed), the keys are not.
    config.storage.credentials.unlink()
    shutil.rmtree(config.storage.crypto_dir)
    async with session(config) as client:
        assert client.device_id != old_device
        assert await _published(client) == (first.master_key, False)
        report = await ensure_identity(client, config)
        assert await _published(client) == (first.master_key, True)

    assert report.signed_now and not report.created and not report.recovered


async def test_a_lost_data_folder_without_the_recovery_key_changes_nothing_and_says_what_to_do(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    async with session(config) as client:
        first = await ensure_identity(client, config)
    shutil.rmtree(config.storage.data_dir)
    async with session(config) as client:
        with pytest.raises(IdentityError) as refused:
            await ensure_identity(client, config)
        assert await _published(client) == (first.master_key, False)

    message = str(refused.value)
    assert "already has a cross-signing identity" in message
    assert "recovery_key_file" in message and "SCOREBOT_RECOVERY_KEY" in message
    assert "scorebot reset-identity" in message
    assert not config.storage.cross_signing_keys.exists()


async def test_a_wrong_recovery_key_is_refused_in_plain_words(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    given = tmp_path / "given-key.txt"
    config = load_config(await _bot(homeserver, tmp_path, f'recovery_key_file = "{given}"'))
    async with session(config) as client:
        await ensure_identity(client, config)
    right = config.storage.recovery_key_file.read_text().strip()
    shutil.rmtree(config.storage.data_dir)
    async with session(config) as client:
        given.write_text(recovery_key.encode(recovery_key.new_key()))
        with pytest.raises(IdentityError, match="does not open"):
            await ensure_identity(client, config)
        given.write_text(right[:-1] + ("a" if right[-1] != "a" else "b"))
        with pytest.raises(SessionError, match="typo"):
            await ensure_identity(client, config)
        given.write_text(right)
        recovered = await ensure_identity(client, config)
    assert recovered.recovered and recovered.device_signed


async def test_a_start_interrupted_before_the_upload_finishes_with_the_same_keys(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    seeds = CrossSigningSeeds.generate()
    user = config.matrix.user_id
    # What the first start had written before it stopped: the files, nothing on the server.
    async with session(config) as client:
        config.storage.recovery_key_file.write_text(recovery_key.encode(recovery_key.new_key()))
        config.storage.cross_signing_keys.write_text(
            json.dumps({"user_id": user, **seeds.secrets(), "in_secret_storage": False})
        )
        report = await ensure_identity(client, config)
        assert await _published(client) == (seeds.public().master, True)

    assert report.created and report.master_key == seeds.public().master
    assert json.loads(config.storage.cross_signing_keys.read_text())["in_secret_storage"] is True


async def test_check_says_whether_the_device_is_signed_and_how_to_verify_the_bot(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    config = load_config(await _bot(homeserver, tmp_path))
    before: list[CheckLine] = []
    assert not await run_checks(config, before.append)
    async with session(config) as client:
        report = await ensure_identity(client, config)
    after: list[CheckLine] = []
    assert await run_checks(config, after.append)

    (unsigned,) = [line for line in before if "own identity" in line.text]
    assert not unsigned.ok and "no cross-signing identity yet" in unsigned.text
    texts = [line.text for line in after]
    assert (
        f"device signed by the bot's own identity: yes (identity fingerprint {report.fingerprint})"
        in texts
    )
    assert any(str(config.storage.recovery_key_file) in text for text in texts)
    assert any("verify the bot" in text and "recovery key" in text for text in texts)


async def test_reset_identity_replaces_the_identity_with_the_password_and_a_new_recovery_key(
    homeserver: Homeserver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = await _bot(homeserver, tmp_path)
    config = load_config(path)
    async with session(config) as client:
        old = await ensure_identity(client, config)
    old_key = config.storage.recovery_key_file.read_text()

    refused = await asyncio.to_thread(main, ["reset-identity", "--config", str(path)])
    assert refused == 1 and "--yes" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["reset-identity", "--config", str(path), "--yes"]) == 0
    printed = capsys.readouterr().out

    async with session(config) as client:
        master, signed = await _published(client)
        again = await ensure_identity(client, config)
    assert master is not None and master != old.master_key and signed
    assert again.master_key == master and not again.created
    new_key = config.storage.recovery_key_file.read_text()
    assert new_key != old_key
    assert "New fingerprint:" in printed and str(config.storage.recovery_key_file) in printed
    assert "identity changed" in printed
