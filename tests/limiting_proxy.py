"""A reverse proxy (no tests) in front of the test Synapse that answers some sends with 429.

The bot talks to the proxy; members talk to Synapse directly. Every `every`-th message send
is refused with M_LIMIT_EXCEEDED and `retry_after_ms`, as a rate-limited homeserver does,
before it reaches Synapse, so nothing refused was stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

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


@contextlib.asynccontextmanager
async def limiting_proxy(
    upstream: str, *, every: int = 2, retry_after_ms: int = 300
) -> AsyncIterator[LimitingProxy]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
    sends = 0
    proxy = LimitingProxy("")

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal sends
        if request.method == "PUT" and "/send/" in request.path:
            sends += 1
            if sends % every == 0:
                proxy.refused += 1
                body = {
                    "errcode": "M_LIMIT_EXCEEDED",
                    "error": "Too many requests",
                    "retry_after_ms": retry_after_ms,
                }
                return web.json_response(body, status=429)
            proxy.forwarded_sends += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with session.request(
            request.method,
            upstream + request.rel_url.path_qs,
            headers=headers,
            data=await request.read(),
        ) as response:
            payload = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
            return web.Response(status=response.status, headers=kept, body=payload)

    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    proxy.base_url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        await runner.cleanup()
        await session.close()
