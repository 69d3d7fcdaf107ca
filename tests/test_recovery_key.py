"""The recovery key's spec encoding, against vectors matrix-js-sdk made (tests/data)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorebot.matrix import recovery_key

VECTORS = Path(__file__).parent / "data" / "js_sdk_vectors.json"


def _js_recovery_keys() -> list[tuple[bytes, str]]:
    document: dict[str, Any] = json.loads(VECTORS.read_text())
    pairs = []
    for request, answer in zip(document["requests"], document["answers"], strict=True):
        if request["op"] == "encode_recovery_key":
            pairs.append((base64.b64decode(request["key"]), answer["recovery_key"]))
    return pairs


@pytest.mark.parametrize(("key", "text"), _js_recovery_keys())
def test_a_recovery_key_encoded_by_matrix_js_sdk_decodes_to_its_key(key: bytes, text: str) -> None:
    assert recovery_key.decode(text) == key


@pytest.mark.parametrize(("key", "text"), _js_recovery_keys())
def test_our_encoding_is_the_one_matrix_js_sdk_writes(key: bytes, text: str) -> None:
    assert recovery_key.encode(key) == text


@given(st.binary(min_size=32, max_size=32))
def test_decoding_our_own_encoding_gives_the_key_back(key: bytes) -> None:
    assert recovery_key.decode(recovery_key.encode(key)) == key


def test_the_encoding_is_prefix_key_parity_in_base58_groups_of_four() -> None:
    key = bytes(range(32))
    text = recovery_key.encode(key)
    groups = text.split(" ")
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4
    raw = base58.b58decode(text.replace(" ", ""))
    assert raw[:2] == b"\x8b\x01"
    assert raw[2:34] == key
    parity = 0
    for byte in raw[:-1]:
        parity ^= byte
    assert raw[-1] == parity and len(raw) == 35


def test_spaces_and_line_breaks_anywhere_are_ignored() -> None:
    key = recovery_key.new_key()
    text = recovery_key.encode(key)
    assert recovery_key.decode("  " + text.replace(" ", "\n") + "\n") == key
    assert recovery_key.decode(text.replace(" ", "")) == key


def test_a_typo_is_caught_by_the_parity_byte() -> None:
    text = recovery_key.encode(bytes(32))
    # Change one character to another of the alphabet, keeping the length.
    position = 10
    replacement = "2" if text[position] != "2" else "3"
    typo = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(recovery_key.RecoveryKeyError, match="typo"):
        recovery_key.decode(typo)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("EsT1 0OIl", "characters"),
        (base58.b58encode(b"\x8b\x02" + bytes(32) + bytes([0x8B ^ 0x02])).decode(), "not a"),
        (base58.b58encode(b"\x8b\x01" + bytes(16) + bytes([0x8B ^ 0x01])).decode(), "not a"),
    ],
)
def test_what_is_not_a_recovery_key_gets_a_plain_reason(text: str, message: str) -> None:
    with pytest.raises(recovery_key.RecoveryKeyError, match=message):
        recovery_key.decode(text)
