"""Signing payloads and cross-signing JSON: spec vectors, an independent signer, forged keys."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64, get_verify_key
from signedjson.sign import sign_json, verify_signed_json

from scorebot.matrix.cross_signing import (
    CrossSigningError,
    CrossSigningSeeds,
    device_signed_by_owner,
    fingerprint,
    key_id,
    published_identity,
    signed_device,
    signing_keys_upload,
)
from scorebot.matrix.signed_json import (
    decode_base64,
    encode_base64,
    has_valid_signature,
    public_key,
    sign,
    signing_payload,
    with_signature,
)

USER = "@scorebot:example.org"
DEVICE = "BOTDEVICE"

# The spec's "Signing JSON" example key (Appendices) and its signatures.
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


def test_the_payload_is_canonical_json_without_signatures_and_unsigned() -> None:
    obj = {
        "b": 1,
        "a": {"z": "é", "y": [2, 1]},
        "signatures": {USER: {"ed25519:X": "sig"}},
        "unsigned": {"device_display_name": "phone"},
    }
    assert signing_payload(obj) == '{"a":{"y":[2,1],"z":"é"},"b":1}'.encode()


@pytest.mark.parametrize(
    ("obj", "signature"),
    [
        (
            {},
            "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ",
        ),
        (
            {"one": 1, "two": "Two"},
            "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
        ),
    ],
)
def test_signatures_match_the_spec_example(obj: dict[str, Any], signature: str) -> None:
    seed = decode_base64(SPEC_SEED)
    assert sign(seed, obj) == signature
    signed = with_signature(obj, "domain", "ed25519:1", signature)
    assert has_valid_signature(signed, "domain", "ed25519:1", public_key(seed))


def test_our_signature_is_the_one_matrix_orgs_signedjson_makes_and_verifies() -> None:
    seeds = CrossSigningSeeds.generate()
    device = _device_keys()
    ours = signed_device(USER, device, seeds)
    ssk = seeds.public().self_signing
    theirs = sign_json(
        copy.deepcopy(device),
        USER,
        decode_signing_key_base64("ed25519", ssk, encode_base64(seeds.self_signing)),
    )
    assert ours["signatures"][USER][key_id(ssk)] == theirs["signatures"][USER][key_id(ssk)]
    verify_key = get_verify_key(
        decode_signing_key_base64("ed25519", ssk, encode_base64(seeds.self_signing))
    )
    verify_signed_json(ours, USER, verify_key)  # raises if not valid


def test_the_upload_body_has_three_keys_and_master_signatures_on_two() -> None:
    seeds = CrossSigningSeeds.generate()
    public = seeds.public()
    body = signing_keys_upload(USER, seeds)
    assert body["master_key"] == {
        "user_id": USER,
        "usage": ["master"],
        "keys": {f"ed25519:{public.master}": public.master},
    }
    for field, usage, key in [
        ("self_signing_key", "self_signing", public.self_signing),
        ("user_signing_key", "user_signing", public.user_signing),
    ]:
        obj = body[field]
        assert obj["usage"] == [usage] and obj["keys"] == {f"ed25519:{key}": key}
        assert set(obj["signatures"][USER]) == {f"ed25519:{public.master}"}
        assert has_valid_signature(obj, USER, key_id(public.master), public.master)
        assert not has_valid_signature(obj, USER, key_id(public.master), public.self_signing)


def test_a_device_signed_by_its_own_self_signing_key_counts_as_signed_by_its_owner() -> None:
    seeds = CrossSigningSeeds.generate()
    query = _query(seeds, signed_device(USER, _device_keys(), seeds))
    assert published_identity(query, USER).master == seeds.public().master
    assert device_signed_by_owner(query, USER, DEVICE)


def test_an_unsigned_device_or_an_unknown_one_is_not_signed() -> None:
    seeds = CrossSigningSeeds.generate()
    query = _query(seeds, _device_keys())
    assert not device_signed_by_owner(query, USER, DEVICE)
    assert not device_signed_by_owner(query, USER, "OTHER")
    assert not device_signed_by_owner(query, "@someone:example.org", DEVICE)


def test_a_device_signed_by_a_self_signing_key_the_master_did_not_sign_is_not_signed() -> None:
    seeds = CrossSigningSeeds.generate()
    stranger = CrossSigningSeeds.generate()
    # The self-signing key is the stranger's, signed by the stranger's master key.
    forged = CrossSigningSeeds(seeds.master, stranger.self_signing, seeds.user_signing)
    query = _query(seeds, signed_device(USER, _device_keys(), forged))
    query["self_signing_keys"][USER] = signing_keys_upload(USER, stranger)["self_signing_key"]
    assert published_identity(query, USER).self_signing is None
    assert not device_signed_by_owner(query, USER, DEVICE)


def test_a_signature_over_other_device_keys_does_not_count() -> None:
    seeds = CrossSigningSeeds.generate()
    signed = signed_device(USER, _device_keys(), seeds)
    signed["keys"][f"curve25519:{DEVICE}"] = "swapped"
    assert not device_signed_by_owner(_query(seeds, signed), USER, DEVICE)


def test_unsigned_fields_do_not_change_the_signature() -> None:
    seeds = CrossSigningSeeds.generate()
    signed = signed_device(USER, _device_keys(), seeds)
    signed["unsigned"] = {"device_display_name": "renamed"}
    assert device_signed_by_owner(_query(seeds, signed), USER, DEVICE)


def test_the_private_keys_round_trip_through_their_secret_storage_form() -> None:
    seeds = CrossSigningSeeds.generate()
    texts = seeds.secrets()
    assert set(texts) == {"master", "self_signing", "user_signing"}
    assert all("=" not in text and len(text) == 43 for text in texts.values())
    assert CrossSigningSeeds.from_secrets(texts) == seeds
    by_name = {f"m.cross_signing.{usage}": text for usage, text in texts.items()}
    assert CrossSigningSeeds.from_secrets(by_name) == seeds
    with pytest.raises(CrossSigningError, match="master"):
        CrossSigningSeeds.from_secrets({**texts, "master": "c2hvcnQ"})


def test_the_fingerprint_is_the_master_key_in_groups_of_four() -> None:
    assert fingerprint("abcdefghij") == "abcd efgh ij"


def _device_keys() -> dict[str, Any]:
    return {
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "device_id": DEVICE,
        "keys": {f"curve25519:{DEVICE}": "curve", f"ed25519:{DEVICE}": "edkey"},
        "signatures": {USER: {f"ed25519:{DEVICE}": "the device's own signature"}},
        "user_id": USER,
    }


def _query(seeds: CrossSigningSeeds, device: dict[str, Any]) -> dict[str, Any]:
    body = signing_keys_upload(USER, seeds)
    # As a server would return it, through JSON.
    return json.loads(
        json.dumps(
            {
                "device_keys": {USER: {DEVICE: device}},
                "master_keys": {USER: body["master_key"]},
                "self_signing_keys": {USER: body["self_signing_key"]},
            }
        )
    )
