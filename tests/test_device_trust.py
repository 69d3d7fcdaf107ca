"""share_keys_with, with a recording client: who gets no room keys, and when the session rotates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from scorebot.config import ShareKeysWith
from scorebot.matrix.cross_signing import CrossSigningSeeds, signed_device, signing_keys_upload
from scorebot.matrix.device_trust import share_keys_by_policy

ROOM = "!meeting:example.org"
BOT = "@scorebot:example.org"
ANA = "@ana:example.org"
BEN = "@ben:example.org"


@dataclass(frozen=True)
class Device:
    user_id: str
    id: str
    ed25519: str


@dataclass
class Olm:
    devices: dict[str, list[Device]]
    blacklisted: set[tuple[str, str]] = field(default_factory=set)
    outbound_group_sessions: dict[str, object] = field(default_factory=lambda: {ROOM: object()})

    @property
    def device_store(self) -> Olm:
        return self

    def active_user_devices(self, user_id: str) -> list[Device]:
        return self.devices.get(user_id, [])

    def is_device_blacklisted(self, device: Device) -> bool:
        return (device.user_id, device.id) in self.blacklisted


@dataclass
class Room:
    users: dict[str, object]
    encrypted: bool = True


class Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status = 200
        self._body = body

    async def json(self, content_type: object = None) -> dict[str, Any]:
        return self._body

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


@dataclass
class FakeClient:
    """Records blacklist changes and key queries; answers /keys/query with `keys`."""

    olm: Olm
    keys: dict[str, Any] | None
    rooms: dict[str, Room] = field(
        default_factory=lambda: {ROOM: Room({BOT: object(), ANA: object(), BEN: object()})}
    )
    user_id: str = BOT
    device_id: str = "BOTDEVICE"
    access_token: str = "token"
    queries: list[list[str]] = field(default_factory=list)

    async def send(self, method: str, path: str, data: str, headers: dict[str, str]) -> Response:
        self.queries.append(sorted(json.loads(data)["device_keys"]))
        if self.keys is None:
            raise aiohttp.ClientConnectionError("homeserver unreachable")
        return Response(self.keys)

    def blacklist_device(self, device: Device) -> None:
        self.olm.blacklisted.add((device.user_id, device.id))

    def unblacklist_device(self, device: Device) -> None:
        self.olm.blacklisted.discard((device.user_id, device.id))


def _device_keys(user: str, device: Device) -> dict[str, Any]:
    return {
        "user_id": user,
        "device_id": device.id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"ed25519:{device.id}": device.ed25519, f"curve25519:{device.id}": "c"},
    }


ANA_PHONE = Device(ANA, "ANAPHONE", "ana-phone-key")
BEN_LAPTOP = Device(BEN, "BENLAPTOP", "ben-laptop-key")
BOT_DEVICE = Device(BOT, "BOTDEVICE", "bot-key")


def _published() -> dict[str, Any]:
    """Ana cross-signed her phone; Ben has an identity but never signed his laptop."""
    ana, ben = CrossSigningSeeds.generate(), CrossSigningSeeds.generate()
    ana_keys, ben_keys = signing_keys_upload(ANA, ana), signing_keys_upload(BEN, ben)
    return {
        "device_keys": {
            ANA: {ANA_PHONE.id: signed_device(ANA, _device_keys(ANA, ANA_PHONE), ana)},
            BEN: {BEN_LAPTOP.id: _device_keys(BEN, BEN_LAPTOP)},
        },
        "master_keys": {ANA: ana_keys["master_key"], BEN: ben_keys["master_key"]},
        "self_signing_keys": {
            ANA: ana_keys["self_signing_key"],
            BEN: ben_keys["self_signing_key"],
        },
    }


def _olm() -> Olm:
    return Olm({ANA: [ANA_PHONE], BEN: [BEN_LAPTOP], BOT: [BOT_DEVICE]})


async def test_cross_signed_keeps_out_only_the_device_its_owner_did_not_sign() -> None:
    client = FakeClient(_olm(), _published())

    await share_keys_by_policy(client, ROOM, ShareKeysWith.CROSS_SIGNED)

    assert client.olm.blacklisted == {(BEN, BEN_LAPTOP.id)}
    assert ROOM not in client.olm.outbound_group_sessions  # a new session, without Ben's laptop
    assert client.queries == [[ANA, BEN, BOT]]


async def test_nothing_changes_and_the_session_stays_when_the_devices_are_as_before() -> None:
    olm = _olm()
    olm.blacklisted.add((BEN, BEN_LAPTOP.id))
    client = FakeClient(olm, _published())

    await share_keys_by_policy(client, ROOM, ShareKeysWith.CROSS_SIGNED)

    assert olm.blacklisted == {(BEN, BEN_LAPTOP.id)}
    assert ROOM in olm.outbound_group_sessions


async def test_a_device_whose_key_differs_from_the_signed_one_is_kept_out() -> None:
    impostor = Device(ANA, ANA_PHONE.id, "another-key")
    client = FakeClient(Olm({ANA: [impostor]}), _published())

    await share_keys_by_policy(client, ROOM, ShareKeysWith.CROSS_SIGNED)

    assert (ANA, ANA_PHONE.id) in client.olm.blacklisted


async def test_when_the_homeserver_cannot_be_asked_no_device_gets_the_keys() -> None:
    client = FakeClient(_olm(), None)

    await share_keys_by_policy(client, ROOM, ShareKeysWith.CROSS_SIGNED)

    assert client.olm.blacklisted == {(ANA, ANA_PHONE.id), (BEN, BEN_LAPTOP.id)}


async def test_all_lets_back_in_what_cross_signed_kept_out_and_asks_nothing() -> None:
    olm = _olm()
    olm.blacklisted.add((BEN, BEN_LAPTOP.id))
    client = FakeClient(olm, None)

    await share_keys_by_policy(client, ROOM, ShareKeysWith.ALL)

    assert olm.blacklisted == set()
    assert ROOM not in olm.outbound_group_sessions  # Ben's laptop gets the next session
    assert client.queries == []


async def test_an_unencrypted_room_is_left_alone() -> None:
    client = FakeClient(_olm(), _published())
    client.rooms[ROOM].encrypted = False

    await share_keys_by_policy(client, ROOM, ShareKeysWith.CROSS_SIGNED)

    assert client.olm.blacklisted == set() and client.queries == []
