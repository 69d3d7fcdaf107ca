"""Saying plainly that the homeserver cannot be reached: where, why, and when the next try is."""

from __future__ import annotations

import logging
import math
import socket
import ssl
import sys
from typing import Any

import aiohttp
import nio  # type: ignore[import-untyped, unused-ignore]

log = logging.getLogger(__name__)

NIO_RETRY_NOTE = "Timed out, sleeping for %ds"
"""nio's own log line for the same moment; `quiet_nio_retry_note` drops it"""


def why_unreachable(error: BaseException | None) -> str:
    """The reason in a few plain words."""
    if isinstance(error, aiohttp.ClientConnectorCertificateError | ssl.SSLError):
        return "its certificate is not valid"
    if isinstance(error, aiohttp.ClientConnectorDNSError) or isinstance(
        getattr(error, "os_error", None), socket.gaierror
    ):
        return "that name cannot be found"
    if isinstance(getattr(error, "os_error", error), ConnectionRefusedError):
        return "nothing answers there (connection refused)"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "it closed the connection"
    if isinstance(error, TimeoutError):
        return "it did not answer in time"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"the connection failed ({error.os_error.strerror or error.os_error})"
    if error is None:
        return "the connection failed"
    return f"the connection failed ({error or type(error).__name__})"


def unreachable_text(homeserver: str, error: BaseException | None, wait: float) -> str:
    """One log line for `scorebot run`: address, reason, next try."""
    seconds = math.ceil(wait)
    when = "now" if wait < 1 else f"in {seconds} second{'' if seconds == 1 else 's'}"
    return (
        f"I cannot reach the homeserver at {homeserver}: {why_unreachable(error)}. "
        f"I will try again {when}."
    )


def quiet_nio_retry_note(record: logging.LogRecord) -> bool:
    """A logging filter: False for nio's "Timed out, sleeping" line, which
    `ReportingClient` replaces with a plain one."""
    return record.msg != NIO_RETRY_NOTE


class ReportingClient(nio.AsyncClient):  # type: ignore[misc]
    """nio's client, which also says plainly when the homeserver cannot be reached and when
    it answers again. The retries and their backoff stay nio's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unreachable = False

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        # nio asks for the wait from inside its `except` for the failed request, so the
        # error that caused it is the one being handled.
        wait = float(await super().get_timeout_retry_wait_time(got_timeouts))
        # The first failure, then each slower try: not every quick retry in between.
        level = logging.WARNING if not self._unreachable or wait >= 1 else logging.DEBUG
        log.log(level, "%s", unreachable_text(self.homeserver, sys.exc_info()[1], wait))
        self._unreachable = True
        return wait

    async def receive_response(self, response: Any) -> None:
        if self._unreachable:
            self._unreachable = False
            log.warning("I can reach the homeserver at %s again.", self.homeserver)
        await super().receive_response(response)
