"""The room microphone, judged by matrix-js-sdk with Element's "exclude insecure devices"."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from scorebot.config import load_config
from scorebot.demo.homeserver import Homeserver
from scorebot.matrix.room_microphone import RoomMicrophone
from scorebot.voice.cues import HeardCue
from tests.conftest import MakeMember
from tests.js_client import JS_TEST_MARKS, run_js_member
from tests.test_js_cross_signing import _lines, _step_event
from tests.test_voice_end_to_end import MIC_PASSWORD, write_microphone_config

pytestmark = JS_TEST_MARKS

JS_PASSWORD = "js member password"


async def test_a_member_that_excludes_insecure_devices_reads_what_the_microphone_heard(
    homeserver: Homeserver, make_member: MakeMember, tmp_path: Path
) -> None:
    mic_id = await homeserver.register(f"mic{secrets.token_hex(4)}", MIC_PASSWORD)
    js_user = await homeserver.register(f"js{secrets.token_hex(4)}", JS_PASSWORD)
    alice = await make_member("alice")
    room = await alice.create_room("Room microphone", invite=[js_user, mic_id])
    steps = [
        {
            "action": "wait_event",
            "name": "heard",
            "sender": mic_id,
            "msgtype": "m.notice",
            "body_contains": "Heard in the room: stack, Maria",
            "timeout": 60,
        },
        {"action": "device_status", "name": "mic_devices", "user": mic_id},
    ]
    member = asyncio.create_task(
        run_js_member(
            homeserver.base_url, js_user, JS_PASSWORD, room, steps, timeout=90,
            cross_signing=True, isolation="only_signed",
        )
    )  # fmt: skip
    await alice.wait_member(room, js_user)
    config = load_config(write_microphone_config(homeserver, mic_id, room, tmp_path))
    microphone = await RoomMicrophone.open(config)
    try:
        await microphone.post(HeardCue("stack", "Maria", "js-1"))
    finally:
        await microphone.close()
    lines = await asyncio.wait_for(member, 120)

    assert lines[-1]["ok"] is True, lines[-1]
    heard = _step_event(lines, "heard")
    assert heard["encrypted"] is True and heard["sender"] == mic_id
    (device,) = _lines(lines, "device_status", "mic_devices")
    assert device["signed_by_owner"] is True
