"""Secret storage encryption (m.secret_storage.v1.aes-hmac-sha2) against matrix-js-sdk's vectors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorebot.matrix import secret_storage
from scorebot.matrix.secret_storage import EncryptedSecret, SecretStorageError

VECTORS = Path(__file__).parent / "data" / "js_sdk_vectors.json"


def _js_answer(op: str) -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads(VECTORS.read_text())
    return next(
        (request, answer)
        for request, answer in zip(document["requests"], document["answers"], strict=True)
        if request["op"] == op
    )


def test_a_secret_matrix_js_sdk_encrypted_decrypts_here() -> None:
    request, payload = _js_answer("encrypt")
    key = base64.b64decode(request["key"])
    encrypted = EncryptedSecret.from_json(payload)
    assert secret_storage.decrypt(encrypted, key, request["name"]) == request["secret"]


def test_the_key_description_matrix_js_sdk_wrote_accepts_its_key_and_no_other() -> None:
    request, description = _js_answer("key_description")
    key = base64.b64decode(request["key"])
    assert secret_storage.key_matches(key, description)
    assert not secret_storage.key_matches(bytes(32), description)


def test_with_the_same_iv_we_write_exactly_what_matrix_js_sdk_wrote() -> None:
    request, payload = _js_answer("encrypt")
    key = base64.b64decode(request["key"])
    again = secret_storage.encrypt(
        request["secret"], key, request["name"], base64.b64decode(payload["iv"])
    )
    assert again.to_json() == payload


@given(
    st.text(), st.binary(min_size=32, max_size=32), st.sampled_from(["", "m.cross_signing.master"])
)
def test_encrypt_then_decrypt_gives_the_secret_back(secret: str, key: bytes, name: str) -> None:
    assert secret_storage.decrypt(secret_storage.encrypt(secret, key, name), key, name) == secret


def test_every_iv_has_bit_63_cleared_so_a_64_bit_counter_never_wraps() -> None:
    for _ in range(200):
        iv = base64.b64decode(secret_storage.encrypt("x", bytes(32), "n").iv)
        assert len(iv) == 16 and iv[8] & 0x80 == 0


def test_the_keys_come_from_hkdf_sha256_with_zero_salt_and_the_name_as_info() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = bytes(range(32))
    expected = HKDF(hashes.SHA256(), 64, salt=bytes(32), info=b"m.cross_signing.master").derive(key)
    assert secret_storage.derive_keys(key, "m.cross_signing.master") == (
        expected[:32],
        expected[32:],
    )
    assert secret_storage.derive_keys(key, "other") != secret_storage.derive_keys(key, "m")


def test_a_wrong_key_or_a_wrong_name_or_a_changed_ciphertext_is_refused() -> None:
    key = bytes(range(32))
    encrypted = secret_storage.encrypt("private", key, "m.cross_signing.master")
    with pytest.raises(SecretStorageError, match="bad MAC"):
        secret_storage.decrypt(encrypted, bytes(32), "m.cross_signing.master")
    with pytest.raises(SecretStorageError, match="bad MAC"):
        secret_storage.decrypt(encrypted, key, "m.cross_signing.self_signing")
    flipped = bytearray(base64.b64decode(encrypted.ciphertext))
    flipped[0] ^= 1
    changed = EncryptedSecret(encrypted.iv, base64.b64encode(flipped).decode(), encrypted.mac)
    with pytest.raises(SecretStorageError, match="bad MAC"):
        secret_storage.decrypt(changed, key, "m.cross_signing.master")


def test_a_new_key_description_names_the_algorithm_and_checks_the_key() -> None:
    key = bytes(range(32))
    description = secret_storage.key_description(key)
    assert description["algorithm"] == "m.secret_storage.v1.aes-hmac-sha2"
    assert set(description) == {"algorithm", "iv", "mac"}
    assert secret_storage.key_matches(key, description)
    assert not secret_storage.key_matches(bytes(32), description)


@pytest.mark.parametrize(
    "description",
    [
        {"algorithm": "m.secret_storage.v1.curve25519-aes-sha2", "iv": "AA==", "mac": "AA=="},
        {"algorithm": "m.secret_storage.v1.aes-hmac-sha2"},
        {"algorithm": "m.secret_storage.v1.aes-hmac-sha2", "iv": "!!", "mac": "AA=="},
    ],
)
def test_a_description_we_cannot_check_is_an_error_not_a_mismatch(
    description: dict[str, Any],
) -> None:
    with pytest.raises(SecretStorageError):
        secret_storage.key_matches(bytes(32), description)


def test_key_ids_are_32_letters_and_digits_and_differ() -> None:
    ids = {secret_storage.new_key_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(len(key_id) == 32 and key_id.isalnum() for key_id in ids)
