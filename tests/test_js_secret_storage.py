"""Recovery keys and secret storage round trips with matrix-js-sdk's own code, both ways."""

from __future__ import annotations

import base64
import secrets

import pytest

from scorebot.matrix import recovery_key, secret_storage
from scorebot.matrix.cross_signing import SECRET_NAMES, CrossSigningSeeds
from scorebot.matrix.secret_storage import EncryptedSecret
from tests.js_client import node_executable, run_secret_storage_tool

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(node_executable() is None, reason="node (Node.js) is not installed"),
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_js_made_recovery_keys_and_secrets_open_here() -> None:
    names = [*SECRET_NAMES.values(), "m.megolm_backup.v1"]
    texts = [*CrossSigningSeeds.generate().secrets().values(), "ünïcode and spaces"]
    fixed = secrets.token_bytes(32)
    requests = [{"op": "new_recovery_key"} for _ in range(5)]
    requests += [{"op": "key_description", "key": _b64(fixed)}]
    requests += [
        {"op": "encrypt", "key": _b64(fixed), "name": name, "secret": text}
        for name, text in zip(names, texts, strict=True)
    ]
    answers = run_secret_storage_tool(requests)

    for made in answers[:5]:
        assert recovery_key.decode(made["recovery_key"]) == base64.b64decode(made["key"])
        assert recovery_key.encode(base64.b64decode(made["key"])) == made["recovery_key"]
    assert secret_storage.key_matches(fixed, answers[5])
    assert not secret_storage.key_matches(secrets.token_bytes(32), answers[5])
    for name, text, payload in zip(names, texts, answers[6:], strict=True):
        assert secret_storage.decrypt(EncryptedSecret.from_json(payload), fixed, name) == text


def test_recovery_keys_and_secrets_made_here_open_in_matrix_js_sdk() -> None:
    key = recovery_key.new_key()
    text = recovery_key.encode(key)
    description = secret_storage.key_description(key)
    seeds = CrossSigningSeeds.generate().secrets()
    encrypted = {
        usage: secret_storage.encrypt(secret, key, SECRET_NAMES[usage]).to_json()
        for usage, secret in seeds.items()
    }
    requests = [
        {"op": "decode_recovery_key", "recovery_key": text},
        {"op": "check_key", "key": _b64(key), "description": description},
        {"op": "check_key", "key": _b64(secrets.token_bytes(32)), "description": description},
    ]
    requests += [
        {"op": "decrypt", "key": _b64(key), "name": SECRET_NAMES[usage], "payload": payload}
        for usage, payload in encrypted.items()
    ]
    # A secret decrypted under the wrong name must fail in js too: the name is bound in.
    requests.append(
        {
            "op": "decrypt",
            "key": _b64(key),
            "name": SECRET_NAMES["user_signing"],
            "payload": encrypted["master"],
        }
    )
    answers = run_secret_storage_tool(requests)

    assert base64.b64decode(answers[0]["key"]) == key
    assert answers[1] == {"ok": True}
    assert answers[2] == {"ok": False}
    assert [answer.get("secret") for answer in answers[3:6]] == list(seeds.values())
    assert "bad MAC" in answers[6]["error"]
