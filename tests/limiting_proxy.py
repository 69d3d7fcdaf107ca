"""A reverse proxy (no tests) in front of the test Synapse: 429s and outages for the bot.

The bot talks to the proxy; members talk to Synapse directly. With `every`, every
`every`-th message send is refused with M_LIMIT_EXCEEDED and `retry_after_ms`, as a
rate-limited homeserver does, before it reaches Synapse, so nothing refused was stored.
`outage()` stops listening for a while, as a homeserver that is down; `bad_gateway()`
answers every request with 502, as a reverse proxy does while the homeserver behind it is
down, and counts the syncs it refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

_HOP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}
)


@dataclass(slots=True)
class LimitingProxy:
    base_url: str
    refused: int = 0
    """sends answered with 429"""
    forwarded_sends: int = 0
    restart: Callable[[], Awaitable[None]] | None = None
    stop: Callable[[], Awaitable[None]] | None = None
    failing: str = ""
    """requests whose path contains this are answered 502 Bad Gateway ("/" for all)"""
    refused_syncs: int = 0
    refused_sends: int = 0
    send_refused: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.contextmanager
    def bad_gateway(self, paths: str = "/") -> Iterator[None]:
        """For the block, requests whose path contains `paths` get 502, as from a proxy
        whose upstream is gone."""
        self.failing = paths
        try:
            yield
        finally:
            self.failing = ""

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """The homeserver is gone for the block: connections are refused, as when it is down."""
        assert self.stop is not None and self.restart is not None
        await self.stop()
        try:
            yield
        finally:
            await self.restart()


@contextlib.asynccontextmanager
async def limiting_proxy(
    upstream: str, *, every: int = 0, retry_after_ms: int = 300
) -> AsyncIterator[LimitingProxy]:
    """A proxy to `upstream`; with `every`, every `every`-th send is refused with 429."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
    sends = 0
    proxy = LimitingProxy("")

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal sends
        if proxy.failing and proxy.failing in request.path:
            proxy.refused_syncs += request.path.endswith("/sync")
            if request.method == "PUT" and "/send/" in request.path:
                proxy.refused_sends += 1
                proxy.send_refused.set()
            return web.Response(status=502, text="Bad Gateway")
        if request.method == "PUT" and "/send/" in request.path:
            sends += 1
            if every and sends % every == 0:
                proxy.refused += 1
                body = {
                    "errcode": "M_LIMIT_EXCEEDED",
                    "error": "Too many requests",
                    "retry_after_ms": retry_after_ms,
                }
                return web.json_response(body, status=429)
            proxy.forwarded_sends += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        url = upstream + request.rel_url.path_qs
        data = await request.read()
        async with session.request(request.method, url, headers=headers, data=data) as response:
            payload = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
            return web.Response(status=response.status, headers=kept, body=payload)

    runner: web.AppRunner | None = None
    port = 0

    async def start() -> None:
        nonlocal runner, port
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop() -> None:
        if runner is not None:
            await runner.cleanup()

    await start()
    proxy.base_url = f"http://127.0.0.1:{port}"
    proxy.stop, proxy.restart = stop, start
    try:
        yield proxy
    finally:
        await stop()
        await session.close()
