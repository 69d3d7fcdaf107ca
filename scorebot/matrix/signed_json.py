"""Matrix signed JSON: Ed25519 over the canonical JSON of an object without `signatures`/`unsigned`.

Keys are written as unpadded base64, as everywhere in Matrix. A private key is the 32-byte
Ed25519 seed, which is also what secret storage keeps for the cross-signing keys.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any

from canonicaljson import encode_canonical_json
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SEED_BYTES = 32


def encode_base64(data: bytes) -> str:
    """Unpadded standard base64, Matrix's encoding for keys and signatures."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def decode_base64(text: str) -> bytes:
    """Standard base64, padded or not; ValueError if it is not base64."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64: {error}") from None


def signing_payload(obj: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: canonical JSON of the object without its signatures."""
    return encode_canonical_json(
        {key: value for key, value in obj.items() if key not in {"signatures", "unsigned"}}
    )


def public_key(seed: bytes) -> str:
    """The unpadded base64 public key of an Ed25519 seed."""
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return encode_base64(raw.public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(seed: bytes, obj: Mapping[str, Any]) -> str:
    """The unpadded base64 signature of `obj` with the Ed25519 seed."""
    return encode_base64(Ed25519PrivateKey.from_private_bytes(seed).sign(signing_payload(obj)))


def with_signature(
    obj: Mapping[str, Any], user_id: str, key_id: str, signature: str
) -> dict[str, Any]:
    """A copy of `obj` with one more signature under `signatures.<user_id>.<key_id>`."""
    signed = copy.deepcopy(dict(obj))
    signed.pop("unsigned", None)
    signed.setdefault("signatures", {}).setdefault(user_id, {})[key_id] = signature
    return signed


def has_valid_signature(obj: Mapping[str, Any], user_id: str, key_id: str, key: str) -> bool:
    """Whether `obj` carries, at `signatures.<user_id>.<key_id>`, a valid signature by the
    Ed25519 public key `key` (unpadded base64)."""
    signatures = obj.get("signatures")
    by_user = signatures.get(user_id) if isinstance(signatures, Mapping) else None
    signature = by_user.get(key_id) if isinstance(by_user, Mapping) else None
    if not isinstance(signature, str):
        return False
    try:
        verifier = Ed25519PublicKey.from_public_bytes(decode_base64(key))
        verifier.verify(decode_base64(signature), signing_payload(obj))
    except (InvalidSignature, ValueError):
        return False
    return True
