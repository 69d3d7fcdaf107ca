"""While the homeserver cannot be reached, the bot says so plainly; nio keeps its own retries."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from aiohttp import web

from scorebot.matrix.reachability import (
    NIO_RETRY_NOTE,
    ReportingClient,
    quiet_nio_retry_note,
    unreachable_text,
)

WAIT_GUARD = 60.0
"""seconds before a test that waits for a log line gives up (a guard, not a measure)"""


class Lines(logging.Handler):
    """Records scorebot's log lines and wakes the test when one it waits for arrives."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.changed.set()

    async def wait_for(self, text: str) -> None:
        async with asyncio.timeout(WAIT_GUARD):
            while not any(text in line for line in self.lines):
                self.changed.clear()
                await self.changed.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"user_id": "@bot:example.org", "device_id": "BOT"})


async def test_the_client_says_where_why_and_when_and_then_that_the_homeserver_is_back() -> None:
    port = free_port()
    lines = Lines()
    logger = logging.getLogger("scorebot.matrix.reachability")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    client = ReportingClient(f"http://127.0.0.1:{port}", "@bot:example.org")
    client.access_token = "token"
    asked = asyncio.create_task(client.whoami())
    runner = web.AppRunner(web.Application())
    runner.app.router.add_get("/_matrix/client/v3/account/whoami", whoami)
    try:
        await lines.wait_for("I will try again in ")
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with asyncio.timeout(WAIT_GUARD):
            answer = await asyncio.shield(asked)
        await lines.wait_for("I can reach the homeserver")
    finally:
        asked.cancel()
        await client.close()
        await runner.cleanup()
        logger.removeHandler(lines)

    assert answer.user_id == "@bot:example.org"
    assert lines.lines[0] == (
        f"I cannot reach the homeserver at http://127.0.0.1:{port}: nothing answers there "
        "(connection refused). I will try again now."
    )
    assert lines.lines[-1] == f"I can reach the homeserver at http://127.0.0.1:{port} again."


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TimeoutError(), "it did not answer in time"),
        (ConnectionRefusedError(), "nothing answers there (connection refused)"),
        (None, "the connection failed"),
    ],
)
def test_each_reason_is_said_in_plain_words(error: BaseException | None, reason: str) -> None:
    assert unreachable_text("https://m.example.org", error, 30.5) == (
        f"I cannot reach the homeserver at https://m.example.org: {reason}. "
        "I will try again in 31 seconds."
    )


def test_nios_own_retry_note_is_left_out_and_other_nio_lines_stay() -> None:
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(
            "nio.client.async_client", logging.WARNING, "", 0, message, (), None
        )

    assert not quiet_nio_retry_note(record(NIO_RETRY_NOTE))
    assert quiet_nio_retry_note(record("Got 429 response (ratelimited), sleeping for %dms"))
