"""Shared fixtures: one throwaway Synapse per test session and fresh encrypted members."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from scorebot.demo.homeserver import Homeserver
from scorebot.demo.member import Member
from tests.small_disk import small_disk

__all__ = ["small_disk"]  # a fixture for every test module (a tmpfs of its own)

MEMBER_PASSWORD = "correct horse battery staple"

_user_numbers = itertools.count(1)

MakeMember = Callable[[str], Awaitable[Member]]


def fresh_localpart(name: str) -> str:
    """A user name no other test in this session has used (all tests share one Synapse)."""
    return f"{name}{next(_user_numbers)}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def homeserver(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Homeserver]:
    async with Homeserver.start(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def make_member(homeserver: Homeserver, tmp_path: Path) -> AsyncIterator[MakeMember]:
    """`await make_member("alice")` registers a fresh user and logs in a new device."""
    members: list[Member] = []

    async def make(name: str) -> Member:
        localpart = fresh_localpart(name)
        user_id = await homeserver.register(localpart, MEMBER_PASSWORD)
        member = await Member.login(
            homeserver.base_url, user_id, MEMBER_PASSWORD, tmp_path / "stores" / localpart
        )
        members.append(member)
        return member

    yield make
    for member in members:
        await member.close()
