"""The real bot, judged by a client no one here wrote: matrix-js-sdk with Rust crypto, under Node.

The js member joins an encrypted meeting room, types "stack", "stack?" and "unstack", and
raises its hand with a ✋ reaction on the bot's stack message, as Element Web does. Every
answer must reach it as an encrypted m.notice that its own crypto decrypts.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from scorebot.demo.homeserver import Homeserver
from tests.conftest import MakeMember
from tests.js_client import JS_TEST_MARKS, events, reply_step, run_js_member, sent
from tests.test_matrix_helpers import register_bot, running_bot, write_bot_config

pytestmark = JS_TEST_MARKS

JS_PASSWORD = "js member password"
WAIT = 30
"""seconds each js step waits for the bot"""


async def test_matrix_js_sdk_member_is_answered_with_notices_it_decrypts(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    bot_id = await register_bot(homeserver)
    js_name = f"js{secrets.token_hex(4)}"
    js_user = await homeserver.register(js_name, JS_PASSWORD)
    async with running_bot(write_bot_config(homeserver, bot_id, tmp_path)):
        alice = await make_member("alice")
        room = await alice.create_room("Interop", invite=[bot_id, js_user])
        await alice.wait_member(room, bot_id)
        steps = [
            {"action": "send_text", "name": "stack", "body": "stack"},
            reply_step("joined", "stack", bot_id),
            {"action": "send_text", "name": "status", "body": "stack?"},
            reply_step("overview", "status", bot_id),
            {"action": "send_text", "name": "unstack", "body": "unstack"},
            reply_step("left", "unstack", bot_id),
            # The status answer is the bot's stack message: a hand on it joins the stack.
            {"action": "react", "name": "hand", "to": "overview", "key": "✋"},
            {
                "action": "wait_event",
                "name": "hand_seen",
                "sender": bot_id,
                "msgtype": "m.notice",
                "body_contains": "hand reaction was seen",
                "timeout": WAIT,
            },
        ]
        lines = await asyncio.wait_for(
            run_js_member(homeserver.base_url, js_user, JS_PASSWORD, room, steps, timeout=90),
            120,
        )

    assert lines[-1]["kind"] == "result" and lines[-1]["ok"] is True, lines[-1]
    received = {line["event_id"]: line for line in events(lines)}

    def answer(step: str) -> dict[str, Any]:
        event_id = next(
            line["event_id"]
            for line in lines
            if line.get("kind") == "step" and line.get("step") == step
        )
        return received[event_id]

    for typed, step in [("stack", "joined"), ("status", "overview"), ("unstack", "left")]:
        question = sent(lines, typed)
        assert question["encrypted"] is True
        reply = answer(step)
        assert reply == reply | {
            "sender": bot_id,
            "type": "m.room.message",
            "msgtype": "m.notice",
            "in_reply_to": question["event_id"],
            "encrypted": True,
        }
    assert f"{js_name}, you are on the stack: 1st of 1." in answer("joined")["body"]
    overview = answer("overview")["body"]
    assert "On the stack, in order (1 person):" in overview
    assert js_name in overview.rsplit("On the stack", maxsplit=1)[-1]
    assert answer("left")["body"].startswith(f"{js_name} left the stack.")
    # js-sdk sends reactions in the clear, as Element Web does; the bot counts it.
    assert sent(lines, "hand")["relates_to"] == answer("overview")["event_id"]
    seen = answer("hand_seen")
    assert seen["encrypted"] is True
    assert (
        f"{js_name}, you are on the stack: 1st of 1. Your hand reaction was seen." in (seen["body"])
    )
