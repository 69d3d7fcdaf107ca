"""Secret storage (SSSS) encryption, `m.secret_storage.v1.aes-hmac-sha2`, as the spec defines it.

Each secret is encrypted separately under the secret-storage key: HKDF-SHA256 of the key,
with 32 zero bytes of salt and the secret's name as info, gives a 32-byte AES key and a
32-byte HMAC key; the secret's UTF-8 text is encrypted with AES-256-CTR under a random
16-byte IV whose bit 63 is cleared (so a 64-bit counter never wraps, as Android needs),
and the HMAC-SHA256 of the ciphertext is its MAC. The key's description in account data
carries the IV and MAC of 32 zero bytes encrypted under the empty name, so a client can
tell a wrong key before it decrypts anything. Only pure functions here; the account data
is read and written elsewhere.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scorebot.matrix.signed_json import decode_base64

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
DEFAULT_KEY_TYPE = "m.secret_storage.default_key"
KEY_TYPE_PREFIX = "m.secret_storage.key."
IV_BYTES = 16
_KEY_ID_ALPHABET = string.ascii_letters + string.digits
_ZERO_SALT = bytes(32)
_CHECK_TEXT = "\0" * 32
"""what the key description's MAC is computed over (32 zero bytes), under the empty name"""


class SecretStorageError(ValueError):
    """A stored secret or key description is malformed, or the key does not open it."""


@dataclass(frozen=True, slots=True)
class EncryptedSecret:
    """One secret encrypted under one key: the value of `encrypted.<key id>` in account data."""

    iv: str
    ciphertext: str
    mac: str

    def to_json(self) -> dict[str, str]:
        return {"iv": self.iv, "ciphertext": self.ciphertext, "mac": self.mac}

    @classmethod
    def from_json(cls, data: object) -> EncryptedSecret:
        if not isinstance(data, Mapping) or not all(
            isinstance(data.get(field), str) for field in ("iv", "ciphertext", "mac")
        ):
            raise SecretStorageError("An encrypted secret needs iv, ciphertext and mac strings.")
        return cls(iv=data["iv"], ciphertext=data["ciphertext"], mac=data["mac"])


def key_type(key_id: str) -> str:
    """The account data type that describes the key `key_id`."""
    return KEY_TYPE_PREFIX + key_id


def new_key_id() -> str:
    """32 random letters and digits, as Element makes them."""
    return "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(32))


def derive_keys(key: bytes, name: str) -> tuple[bytes, bytes]:
    """(AES key, HMAC key) for the secret called `name`."""
    material = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=_ZERO_SALT, info=name.encode("utf-8")
    ).derive(key)
    return material[:32], material[32:]


def new_iv() -> bytes:
    iv = bytearray(secrets.token_bytes(IV_BYTES))
    iv[8] &= 0x7F
    return bytes(iv)


def encrypt(secret: str, key: bytes, name: str, iv: bytes | None = None) -> EncryptedSecret:
    aes_key, hmac_key = derive_keys(key, name)
    iv = new_iv() if iv is None else iv
    encryptor = Cipher(algorithms.AES256(aes_key), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(secret.encode("utf-8")) + encryptor.finalize()
    return EncryptedSecret(
        iv=_b64(iv), ciphertext=_b64(ciphertext), mac=_b64(_mac(hmac_key, ciphertext))
    )


def decrypt(encrypted: EncryptedSecret, key: bytes, name: str) -> str:
    """The secret's text; SecretStorageError if the key is wrong or the data was changed."""
    aes_key, hmac_key = derive_keys(key, name)
    try:
        iv = decode_base64(encrypted.iv)
        ciphertext = decode_base64(encrypted.ciphertext)
        mac = decode_base64(encrypted.mac)
    except ValueError:
        raise SecretStorageError(f"The stored secret {name} is not valid base64.") from None
    if not hmac.compare_digest(mac, _mac(hmac_key, ciphertext)):
        raise SecretStorageError(f"The key does not open the stored secret {name} (bad MAC).")
    if len(iv) != IV_BYTES:
        raise SecretStorageError(f"The stored secret {name} has an IV of the wrong length.")
    decryptor = Cipher(algorithms.AES256(aes_key), modes.CTR(iv)).decryptor()
    try:
        return (decryptor.update(ciphertext) + decryptor.finalize()).decode("utf-8")
    except UnicodeDecodeError:
        raise SecretStorageError(f"The stored secret {name} is not text.") from None


def key_description(key: bytes, name: str | None = None) -> dict[str, Any]:
    """The content of `m.secret_storage.key.<id>` for a key made from a recovery key."""
    check = encrypt(_CHECK_TEXT, key, "")
    description: dict[str, Any] = {"algorithm": ALGORITHM, "iv": check.iv, "mac": check.mac}
    if name is not None:
        description["name"] = name
    return description


def key_matches(key: bytes, description: Mapping[str, Any]) -> bool:
    """Whether `key` is the key this description describes (its IV/MAC check holds)."""
    if description.get("algorithm") != ALGORITHM:
        raise SecretStorageError(
            f"The secret-storage key uses {description.get('algorithm')!r}, not {ALGORITHM}."
        )
    iv_text, mac_text = description.get("iv"), description.get("mac")
    if not isinstance(iv_text, str) or not isinstance(mac_text, str):
        raise SecretStorageError("The secret-storage key description has no iv/mac check.")
    try:
        iv, expected = decode_base64(iv_text), decode_base64(mac_text)
    except ValueError:
        raise SecretStorageError("The secret-storage key check is not valid base64.") from None
    if len(iv) != IV_BYTES:
        raise SecretStorageError("The secret-storage key check has an IV of the wrong length.")
    actual = decode_base64(encrypt(_CHECK_TEXT, key, "", iv).mac)
    return hmac.compare_digest(actual, expected)


def _mac(hmac_key: bytes, data: bytes) -> bytes:
    signer = crypto_hmac.HMAC(hmac_key, hashes.SHA256())
    signer.update(data)
    return signer.finalize()


def _b64(data: bytes) -> str:
    # Padded, as matrix-js-sdk writes these fields (readers accept both).
    return base64.b64encode(data).decode("ascii")
