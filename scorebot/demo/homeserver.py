"""A throwaway Synapse on 127.0.0.1 for the demo and the integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0
"""seconds to wait for Synapse to answer /_matrix/client/versions"""

STOP_GRACE = 5.0
"""seconds between SIGTERM and SIGKILL on exit"""

_POLL_INTERVAL = 0.1
"""seconds between readiness probes"""

_LOG_TAIL_LINES = 40

# Every limiter this Synapse version reads (synapse/config/ratelimiting.py). The defaults
# allow a handful of logins, joins and invites per minute; a test session does hundreds.
_RATELIMIT_KEYS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
_UNLIMITED = {"per_second": 1000, "burst_count": 1000}


class HomeserverError(RuntimeError):
    """Synapse did not start, or refused an admin request."""


@dataclass(frozen=True, slots=True)
class Homeserver:
    """A running Synapse; obtain one with `Homeserver.start`."""

    base_url: str
    server_name: str
    workdir: Path
    registration_shared_secret: str

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, workdir: Path, server_name: str = "localhost"
    ) -> AsyncIterator[Homeserver]:
        """Run Synapse with its config, database and log in `workdir` until the block exits."""
        port = _free_port()
        secret = secrets.token_hex(16)
        workdir, config_path = await asyncio.to_thread(
            _write_config, workdir, server_name, port, secret
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        log_file = await asyncio.to_thread((workdir / "synapse.out.log").open, "ab")
        # Synapse gets its own copy of the descriptor, so ours can close once it has started.
        with log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(config_path),
                cwd=workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        homeserver = cls(
            base_url=f"http://127.0.0.1:{port}",
            server_name=server_name,
            workdir=workdir,
            registration_shared_secret=secret,
        )
        try:
            await _wait_until_ready(homeserver.base_url, process, workdir)
            logger.info(
                "Synapse ready at %s after %.1f s", homeserver.base_url, loop.time() - started
            )
            yield homeserver
        finally:
            await _stop(process)

    async def register(self, localpart: str, password: str, *, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API and return the full user id."""
        url = f"{self.base_url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                nonce = str((await _json_or_raise(response, "nonce"))["nonce"])
            mac = _registration_mac(
                self.registration_shared_secret, nonce, localpart, password, admin=admin
            )
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac,
            }
            async with session.post(url, json=body) as response:
                user_id = str((await _json_or_raise(response, "register"))["user_id"])
        logger.debug("Registered %s", user_id)
        return user_id


def _registration_mac(secret: str, nonce: str, user: str, password: str, *, admin: bool) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(
        b"\x00".join(
            [
                nonce.encode(),
                user.encode(),
                password.encode(),
                b"admin" if admin else b"notadmin",
            ]
        )
    )
    return mac.hexdigest()


async def _json_or_raise(response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
    if response.status != 200:
        text = await response.text()
        raise HomeserverError(f"admin {what} request failed: HTTP {response.status}: {text}")
    body: dict[str, Any] = await response.json()
    return body


def _free_port() -> int:
    # The port is free now; Synapse binds it a moment later. Good enough on a test machine.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_config(workdir: Path, server_name: str, port: int, secret: str) -> tuple[Path, Path]:
    """Write homeserver.yaml and its log config; return (absolute workdir, config path)."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log_config_path = workdir / "log_config.yaml"
    config: dict[str, Any] = {
        "server_name": server_name,
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(workdir / "homeserver.db")},
        },
        "media_store_path": str(workdir / "media_store"),
        "log_config": str(log_config_path),
        "pid_file": str(workdir / "homeserver.pid"),
        "signing_key_path": str(workdir / "signing.key"),
        "report_stats": False,
        "registration_shared_secret": secret,
        "macaroon_secret_key": secrets.token_hex(32),
        "form_secret": secrets.token_hex(32),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        # Password hashing is the slowest part of registering and logging in.
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "enable_registration": False,
    }
    for dotted in _RATELIMIT_KEYS:
        section = config
        *parents, leaf = dotted.split(".")
        for part in parents:
            section = section.setdefault(part, {})
        section[leaf] = dict(_UNLIMITED)
    log_config = {
        "version": 1,
        "formatters": {"precise": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(workdir / "homeserver.log"),
                "level": "WARNING",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }
    # JSON is valid YAML, so no YAML library is needed to write Synapse's config.
    log_config_path.write_text(json.dumps(log_config, indent=2))
    config_path = workdir / "homeserver.yaml"
    config_path.write_text(json.dumps(config, indent=2))
    return workdir, config_path


async def _wait_until_ready(
    base_url: str, process: asyncio.subprocess.Process, workdir: Path
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    url = f"{base_url}/_matrix/client/versions"
    probe_timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=probe_timeout) as session:
        while True:
            if process.returncode is not None:
                raise HomeserverError(
                    f"Synapse exited with code {process.returncode} during startup\n"
                    + _log_tail(workdir)
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if loop.time() > deadline:
                raise HomeserverError(
                    f"Synapse did not answer {url} within {STARTUP_TIMEOUT:.0f} s\n"
                    + _log_tail(workdir)
                )
            await asyncio.sleep(_POLL_INTERVAL)


def _log_tail(workdir: Path) -> str:
    parts = []
    for name in ("synapse.out.log", "homeserver.log"):
        path = workdir / name
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
            parts.append(f"--- tail of {path} ---\n" + "\n".join(lines))
    return "\n".join(parts) or f"(no logs in {workdir})"


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE)
    except TimeoutError:
        logger.warning("Synapse ignored SIGTERM for %.0f s; killing it", STOP_GRACE)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
