"""Element's rule, from outside: a js-sdk member that excludes insecure devices reads the bot.

The member is matrix-js-sdk with Rust crypto under Node, cross-signed itself and running
with OnlySignedDevicesIsolationMode, which is Element's "exclude insecure devices": it
gives room keys only to devices their owners cross-signed and refuses to decrypt messages
from any other (UNSIGNED_SENDER_DEVICE). The bot must therefore sign its own device, keep
the same identity when its data folder is lost (given its recovery key), and keep that
identity's keys in secret storage that matrix-js-sdk itself can open.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from scorebot.cli import main
from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Message
from scorebot.matrix.cross_signing import CrossSigningSeeds
from tests.conftest import MakeMember
from tests.js_client import (
    JS_TEST_MARKS,
    reply_step,
    run_bot_recovery,
    run_js_member,
    sent,
)
from tests.test_matrix_helpers import BOT_PASSWORD, register_bot, running_bot, write_bot_config

pytestmark = JS_TEST_MARKS

JS_PASSWORD = "js member password"


def _lines(lines: list[dict[str, Any]], kind: str, step: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("kind") == kind and line.get("step") == step]


def _step_event(lines: list[dict[str, Any]], step: str) -> dict[str, Any]:
    event_id = next(line["event_id"] for line in _lines(lines, "step", step))
    return next(
        line for line in lines if line.get("kind") == "event" and line["event_id"] == event_id
    )


def _local_master_key(data_dir: Path) -> str:
    stored = json.loads((data_dir / "cross-signing-keys.json").read_text())
    return CrossSigningSeeds.from_secrets(stored).public().master


def _device_id(data_dir: Path) -> str:
    return str(json.loads((data_dir / "credentials.json").read_text())["device_id"])


async def test_a_member_that_excludes_insecure_devices_reads_and_reaches_the_bot(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    js_name = f"js{secrets.token_hex(4)}"
    js_user = await homeserver.register(js_name, JS_PASSWORD)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)) as bot:
        alice = await make_member("alice")
        room = await alice.create_room("Signed", invite=[bot_id, js_user])
        await alice.wait_member(room, bot_id)
        steps = [
            {"action": "send_text", "name": "stack", "body": "stack"},
            reply_step("joined", "stack", bot_id),
            {"action": "device_status", "name": "bot_devices", "user": bot_id},
            {"action": "user_status", "name": "bot_identity", "user": bot_id},
        ]
        lines = await run_js_member(
            homeserver.base_url,
            js_user,
            JS_PASSWORD,
            room,
            steps,
            timeout=90,
            cross_signing=True,
            isolation="only_signed",
        )
        data_dir = bot.config.storage.data_dir

    assert lines[-1]["ok"] is True, lines[-1]
    assert sent(lines, "stack")["encrypted"] is True
    answer = _step_event(lines, "joined")
    assert answer["encrypted"] is True and answer["sender"] == bot_id
    assert f"{js_name}, you are on the stack: 1st of 1." in answer["body"]
    devices = {line["device_id"]: line for line in _lines(lines, "device_status", "bot_devices")}
    assert devices[_device_id(data_dir)]["signed_by_owner"] is True
    (identity,) = _lines(lines, "user_status", "bot_identity")
    assert identity["master_key"] == _local_master_key(data_dir)
    assert identity["needs_user_approval"] is False


async def test_a_lost_data_folder_with_the_recovery_key_kept_comes_back_as_the_same_identity(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    """...and only `scorebot reset-identity` changes it, which the member's client notices."""
    bot_id = await register_bot(homeserver)
    js_name = f"js{secrets.token_hex(4)}"
    js_user = await homeserver.register(js_name, JS_PASSWORD)
    kept = tmp_path / "kept-recovery-key.txt"
    config_path = write_bot_config(
        homeserver, bot_id, tmp_path / "bot", matrix_extra=f'recovery_key_file = "{kept}"'
    )
    data_dir = load_config(config_path).storage.data_dir
    alice = await make_member("alice")
    async with running_bot(config_path):
        first_device = _device_id(data_dir)
        master = _local_master_key(data_dir)
        shutil.copy(data_dir / "recovery-key.txt", kept)
        room = await alice.create_room("Lost and found", invite=[bot_id, js_user])
        await alice.wait_member(room, bot_id)
        steps = [
            {"action": "send_text", "name": "stack", "body": "stack"},
            reply_step("joined", "stack", bot_id),
            {"action": "user_status", "name": "before", "user": bot_id},
            # Meanwhile the bot's data folder is wiped and it starts again as a new device.
            {
                "action": "wait_device",
                "name": "new_device",
                "user": bot_id,
                "exclude": [first_device],
                "signed_by_owner": True,
                "timeout": 120,
            },
            {"action": "send_text", "name": "status", "body": "stack?"},
            reply_step("overview", "status", bot_id),
            {"action": "user_status", "name": "after", "user": bot_id},
            {"action": "device_status", "name": "devices", "user": bot_id},
            # Then the identity is replaced on purpose.
            {
                "action": "user_status",
                "name": "after_reset",
                "user": bot_id,
                "wait_master_not": master,
                "timeout": 120,
            },
        ]
        member = asyncio.create_task(
            run_js_member(
                homeserver.base_url,
                js_user,
                JS_PASSWORD,
                room,
                steps,
                timeout=200,
                cross_signing=True,
                isolation="only_signed",
            )
        )

        def answered(message: Message) -> bool:
            return message.sender == bot_id and f"{js_name}, you are on the stack" in message.body

        await _unless_failed(member, alice.wait_message(answered, timeout=90))

    shutil.rmtree(data_dir)
    async with running_bot(config_path):
        second_device = _device_id(data_dir)
        seen = {record.event_id for record in alice.records}
        await _unless_failed(
            member,
            alice.wait_message(
                lambda m: m.sender == bot_id and m.event_id not in seen, timeout=120
            ),
        )
    recovered_master = _local_master_key(data_dir)
    reset = await asyncio.to_thread(main, ["reset-identity", "--config", str(config_path), "--yes"])
    lines = await member

    assert second_device != first_device
    assert recovered_master == master
    assert lines[-1]["ok"] is True, lines[-1]
    assert _lines(lines, "step", "new_device")[0]["device_id"] == second_device
    overview = _step_event(lines, "overview")
    assert overview["encrypted"] is True and overview["sender"] == bot_id
    for step in ("before", "after"):
        (identity,) = _lines(lines, "user_status", step)
        assert identity["master_key"] == master
        assert identity["needs_user_approval"] is False, step
    devices = {line["device_id"]: line for line in _lines(lines, "device_status", "devices")}
    assert devices[second_device]["signed_by_owner"] is True
    assert devices[first_device]["signed_by_owner"] is True
    assert reset == 0
    (replaced,) = _lines(lines, "user_status", "after_reset")
    assert replaced["master_key"] == _local_master_key(data_dir) != master
    assert replaced["needs_user_approval"] is True


async def _unless_failed(member: asyncio.Task[Any], waiting: Awaitable[object]) -> None:
    """Wait for something while the js member runs; if the member fails first, say why."""
    waited = asyncio.ensure_future(waiting)
    await asyncio.wait([member, waited], return_when=asyncio.FIRST_COMPLETED)
    if member.done() and not waited.done():
        waited.cancel()
        member.result()
    await waited


async def test_element_opens_the_bots_secret_storage_with_its_recovery_key(
    homeserver: Homeserver, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)) as bot:
        data_dir = bot.config.storage.data_dir
        key_text = (data_dir / "recovery-key.txt").read_text().strip()
        public = CrossSigningSeeds.from_secrets(
            json.loads((data_dir / "cross-signing-keys.json").read_text())
        ).public()
    found = await run_bot_recovery(homeserver.base_url, bot_id, BOT_PASSWORD, key_text)

    assert found["key_check_ok"] is True
    expected = {
        "master": public.master,
        "self_signing": public.self_signing,
        "user_signing": public.user_signing,
    }
    assert found["secrets"] == expected
    assert found["published"] == expected
    assert found["own_master_key"] == public.master
    status = found["cross_signing_status"]
    assert status["privateKeysInSecretStorage"] is True
    assert status["privateKeysCachedLocally"] == {
        "masterKey": True,
        "selfSigningKey": True,
        "userSigningKey": True,
    }
    assert found["device_signed_by_owner"] is True


async def test_with_cross_signed_only_a_device_its_owner_did_not_sign_cannot_read_the_bot(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    js_name = f"js{secrets.token_hex(4)}"
    js_user = await homeserver.register(js_name, JS_PASSWORD)
    strict = 'share_keys_with = "cross-signed"'
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path, extra=strict)):
        alice = await make_member("alice")  # nio: a device no one cross-signed
        room = await alice.create_room("Strict", invite=[bot_id, js_user])
        await alice.wait_member(room, bot_id)
        # The bot still reads the unsigned device (the policy is about what it sends): alice
        # goes first on the stack, but cannot read the bot's answer.
        await alice.send_text(room, "stack")
        await alice.wait_undecryptable()
        steps = [
            {"action": "send_text", "name": "stack", "body": "stack"},
            reply_step("joined", "stack", bot_id),
        ]
        lines = await run_js_member(
            homeserver.base_url, js_user, JS_PASSWORD, room, steps, timeout=90, cross_signing=True
        )
        answer = _step_event(lines, "joined")
        await alice.wait_undecryptable(answer["event_id"])

    assert lines[-1]["ok"] is True, lines[-1]
    assert answer["encrypted"] is True
    assert f"{js_name}, you are on the stack: 2nd of 2." in answer["body"]
    assert not [m for m in alice.records if isinstance(m, Message) and m.sender == bot_id]
