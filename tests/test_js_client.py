"""matrix-js-sdk (Element's library, Rust crypto) as an independent member of an encrypted room.

A nio `Member` stands in for the bot: the js client joins the encrypted room, sends "stack",
and must decrypt the nio side's encrypted m.notice reply.  None of the crypto on the js side
was written by us, so this proves the encryption interoperates with real clients.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import aiohttp

from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member, Message
from tests.js_client import (
    EXIT_DECRYPTION,
    JS_TEST_MARKS,
    events,
    run_js_member,
    sent,
)

pytestmark = JS_TEST_MARKS

JS_PASSWORD = "js member password"
REPLY = "js-sdk member, you are on the stack"


async def _register(homeserver: Homeserver, name: str) -> str:
    return await homeserver.register(f"{name}{secrets.token_hex(4)}", JS_PASSWORD)


async def test_js_member_decrypts_encrypted_reply(homeserver: Homeserver, make_member: Any) -> None:
    bot: Member = await make_member("jsbot")
    js_user = await _register(homeserver, "js")
    room_id = await bot.create_room("js-sdk interop", invite=[js_user])
    assert bot.is_encrypted(room_id)

    async def answer() -> tuple[Message, str]:
        message = await bot.wait_message(
            lambda m: m.sender == js_user and m.body == "stack", timeout=90
        )
        reply_id = await bot.send_text(
            room_id, REPLY, reply_to=message.event_id, msgtype="m.notice"
        )
        return message, reply_id

    steps = [
        {"action": "send_text", "name": "stack", "body": "stack"},
        {
            "action": "wait_reply",
            "name": "reply",
            "to": "stack",
            "sender": bot.user_id,
            "msgtype": "m.notice",
            "timeout": 60,
        },
        {"action": "react", "name": "thumbs", "to": "reply", "key": "👍"},
    ]
    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        answering = group.create_task(answer())
        running = group.create_task(
            run_js_member(homeserver.base_url, js_user, JS_PASSWORD, room_id, steps, timeout=120)
        )
    took = time.monotonic() - started
    message, reply_id = answering.result()
    lines = running.result()

    # The js client encrypted "stack" to the nio device, which could decrypt it.
    stack = sent(lines, "stack")
    assert stack["encrypted"] is True
    assert message.event_id == stack["event_id"]
    assert message.decrypted

    # ... and it decrypted the nio side's encrypted reply.
    reply = next(line for line in events(lines) if line["event_id"] == reply_id)
    assert reply == reply | {
        "sender": bot.user_id,
        "type": "m.room.message",
        "msgtype": "m.notice",
        "body": REPLY,
        "in_reply_to": stack["event_id"],
        "encrypted": True,
    }
    assert lines[-1]["kind"] == "result"
    assert lines[-1]["ok"] is True

    # Its reaction reaches the nio side (js-sdk sends reactions in the clear, as Element does).
    thumbs = sent(lines, "thumbs")
    reaction = await bot.wait_reaction(reply_id, "👍", sender=js_user, timeout=30)
    assert reaction.event_id == thumbs["event_id"]
    print(f"js member end to end: {took:.1f} s (client says {lines[-1]['elapsed_ms']} ms)")


async def _login_and_join(base_url: str, user_id: str, room_id: str) -> str:
    """A bare HTTP session with no crypto at all: returns its access token."""
    async with aiohttp.ClientSession() as session:
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": JS_PASSWORD,
        }
        async with session.post(f"{base_url}/_matrix/client/v3/login", json=body) as response:
            assert response.status == 200, await response.text()
            token = str((await response.json())["access_token"])
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{base_url}/_matrix/client/v3/join/{quote(room_id, safe='')}"
        async with session.post(url, json={}, headers=headers) as response:
            assert response.status == 200, await response.text()
    return token


async def _send_bogus_encrypted_reply(
    base_url: str, token: str, room_id: str, reply_to: str
) -> str:
    """An m.room.encrypted reply whose Megolm session nobody has: undecryptable."""
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": "x" * 43,
        "device_id": "ROGUEDEVICE",
        "session_id": "y" * 43,
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAtHaZTwyNg37af",
        "m.relates_to": {"m.in_reply_to": {"event_id": reply_to}},
    }
    url = (
        f"{base_url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
        f"/send/m.room.encrypted/{uuid4()}"
    )
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {token}"}
        async with session.put(url, json=content, headers=headers) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["event_id"])


async def test_js_member_reports_undecryptable_reply(
    homeserver: Homeserver, make_member: Any
) -> None:
    """A reply the client cannot decrypt is a decryption failure (exit 3), not a timeout."""
    bot: Member = await make_member("jsbot")
    js_user = await _register(homeserver, "js")
    rogue_user = await _register(homeserver, "rogue")
    room_id = await bot.create_room("js-sdk undecryptable", invite=[js_user, rogue_user])
    rogue_token = await _login_and_join(homeserver.base_url, rogue_user, room_id)

    async def bogus_answer() -> str:
        message = await bot.wait_message(
            lambda m: m.sender == js_user and m.body == "stack", timeout=90
        )
        return await _send_bogus_encrypted_reply(
            homeserver.base_url, rogue_token, room_id, message.event_id
        )

    steps = [
        {"action": "send_text", "name": "stack", "body": "stack"},
        {
            "action": "wait_reply",
            "to": "stack",
            "sender": rogue_user,
            "timeout": 60,
            "decryption_grace": 2,
        },
    ]
    async with asyncio.TaskGroup() as group:
        answering = group.create_task(bogus_answer())
        running = group.create_task(
            run_js_member(
                homeserver.base_url, js_user, JS_PASSWORD, room_id, steps, timeout=90, check=False
            )
        )
    bogus_id = answering.result()
    lines = running.result()

    result = lines[-1]
    assert result["kind"] == "result"
    assert result["exit_code"] == EXIT_DECRYPTION, result
    assert "could not be decrypted" in result["error"]
    assert bogus_id in result["error"]
    assert any(
        line["kind"] == "undecryptable" and line["event_id"] == bogus_id for line in lines
    ), lines
    assert not any(line["event_id"] == bogus_id for line in events(lines))
