"""Client-server API calls nio lacks: account data, raw key queries, cross-signing uploads."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

KEY_QUERY_TIMEOUT = 10_000
"""milliseconds the server may wait for other servers' keys"""


class HomeserverError(RuntimeError):
    """The homeserver refused or failed a request; the message says which and why."""


async def request(
    client: Any, method: str, path: str, body: Mapping[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """One authenticated request on the client's own HTTP session: (status, JSON body)."""
    headers = {"Authorization": f"Bearer {client.access_token}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body)
    try:
        response = await client.send(method, path, data, headers)
        async with response:
            status = response.status
            try:
                parsed = await response.json(content_type=None)
            except ValueError:
                parsed = None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise HomeserverError(
            f"{method} {path.split('?', maxsplit=1)[0]} did not reach the homeserver ({error})."
        ) from None
    return status, parsed if isinstance(parsed, dict) else {}


def _account_data_path(client: Any, event_type: str) -> str:
    user = quote(str(client.user_id), safe="")
    return f"/_matrix/client/v3/user/{user}/account_data/{quote(event_type, safe='')}"


async def get_account_data(client: Any, event_type: str) -> dict[str, Any] | None:
    """The account's global account data of this type, or None if there is none."""
    status, body = await request(client, "GET", _account_data_path(client, event_type))
    if status == 404:
        return None
    if status != 200:
        raise HomeserverError(f"Reading {event_type} failed: {_describe(status, body)}")
    return body


async def put_account_data(client: Any, event_type: str, content: Mapping[str, Any]) -> None:
    status, body = await request(client, "PUT", _account_data_path(client, event_type), content)
    if status != 200:
        raise HomeserverError(f"Writing {event_type} failed: {_describe(status, body)}")


async def query_keys(client: Any, user_ids: Sequence[str]) -> dict[str, Any]:
    """POST /keys/query for these users, as the server answers it (cross-signing keys too)."""
    body = {"device_keys": {user: [] for user in user_ids}, "timeout": KEY_QUERY_TIMEOUT}
    status, answer = await request(client, "POST", "/_matrix/client/v3/keys/query", body)
    if status != 200:
        raise HomeserverError(f"Querying keys failed: {_describe(status, answer)}")
    return answer


async def upload_signing_keys(client: Any, body: Mapping[str, Any], password: str | None) -> None:
    """POST /keys/device_signing/upload; answers a request for interactive auth with the password.

    The first upload needs no auth on current servers (MSC3967); replacing keys does.
    """
    path = "/_matrix/client/v3/keys/device_signing/upload"
    status, answer = await request(client, "POST", path, body)
    if status == 401 and "flows" in answer:
        stages = {stage for flow in answer.get("flows", []) for stage in flow.get("stages", [])}
        if "m.login.password" not in stages:
            raise HomeserverError(
                "The homeserver wants a kind of confirmation other than the password to "
                "change the bot's cross-signing keys; it cannot be done here."
            )
        if not password:
            raise HomeserverError(
                "The homeserver asks for the bot's password to change its cross-signing keys: "
                "set matrix.password, matrix.password_file or SCOREBOT_PASSWORD."
            )
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": str(client.user_id)},
            "password": password,
            "session": answer.get("session"),
        }
        status, answer = await request(client, "POST", path, {**body, "auth": auth})
        if status == 401:
            raise HomeserverError(
                "The homeserver did not accept the bot's password to change its cross-signing "
                "keys; check matrix.password."
            )
    if status != 200:
        raise HomeserverError(f"Uploading cross-signing keys failed: {_describe(status, answer)}")


async def upload_signatures(client: Any, body: Mapping[str, Any]) -> None:
    """POST /keys/signatures/upload; every signature must be accepted."""
    path = "/_matrix/client/v3/keys/signatures/upload"
    status, answer = await request(client, "POST", path, body)
    if status != 200:
        raise HomeserverError(f"Uploading signatures failed: {_describe(status, answer)}")
    if answer.get("failures"):
        raise HomeserverError(f"The homeserver refused signatures: {answer['failures']}")


def _describe(status: int, body: Mapping[str, Any]) -> str:
    errcode = body.get("errcode")
    error = body.get("error")
    if errcode or error:
        return f"HTTP {status}, {errcode}: {error}"
    return f"HTTP {status}"
