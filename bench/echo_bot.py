"""The floor: a minimal encrypted nio bot that answers every text message, and does nothing else.

Run by `bench.latency` as its own process, like scorebot: it logs in as a new device,
uploads its keys, accepts every invite, ignores what happened before it started, and
answers each decrypted m.text from someone else with an m.notice threaded to it
(`m.in_reply_to`), encrypted to every device in the room (verified or not, as scorebot
does by default). The answer is sent from its own task so the sync loop never waits on a
send. No store of its own beyond nio's crypto store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
from pathlib import Path
from typing import Any

import nio  # type: ignore[import-untyped, unused-ignore]

SYNC_TIMEOUT = 30_000
"""milliseconds, as scorebot's"""

READY = "echo bot ready"

log = logging.getLogger("echo_bot")


async def run(homeserver: str, user_id: str, password: str, store: Path) -> None:
    config = nio.AsyncClientConfig(
        store_sync_tokens=False, encryption_enabled=True, pickle_key=secrets.token_hex(16)
    )
    client = nio.AsyncClient(homeserver, user_id, store_path=str(store), config=config)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def answer(room_id: str, event_id: str) -> None:
        content = {
            "msgtype": "m.notice",
            "body": "echo",
            "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        }
        response = await client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if not isinstance(response, nio.RoomSendResponse):
            log.warning("send failed: %s", response)

    def on_text(room: Any, event: Any) -> None:
        if event.sender != client.user_id:
            spawn(answer(room.room_id, event.event_id))

    def on_invite(room: Any, event: Any) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            spawn(join(room.room_id))

    async def join(room_id: str) -> None:
        response = await client.join(room_id)
        if not isinstance(response, nio.JoinResponse):
            log.warning("join failed: %s", response)

    try:
        response = await client.login(password, device_name="floor echo bot")
        if not isinstance(response, nio.LoginResponse):
            raise SystemExit(f"echo bot: login failed: {response}")
        if client.should_upload_keys:
            await client.keys_upload()
        # History before the start is not answered, as scorebot does on a first start.
        first = await client.sync(timeout=0, full_state=True)
        if not isinstance(first, nio.SyncResponse):
            raise SystemExit(f"echo bot: first sync failed: {first}")
        for room_id in first.rooms.invite:
            spawn(join(room_id))
        client.add_event_callback(on_text, nio.RoomMessageText)
        client.add_event_callback(on_invite, nio.InviteMemberEvent)
        log.info(READY)
        await client.sync_forever(timeout=SYNC_TIMEOUT, since=first.next_batch, full_state=True)
    finally:
        for task in [*tasks]:
            task.cancel()
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.ERROR)
    args.store.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.homeserver, args.user, args.password, args.store))


if __name__ == "__main__":
    main()
