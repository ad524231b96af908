"""Ed25519 key pairs, signatures and key ids (no I/O)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


@dataclass(frozen=True)
class KeyPair:
    party: str
    private: Ed25519PrivateKey

    @property
    def public_b64(self) -> str:
        return public_b64(self.private.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.public_b64)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")

    def to_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def generate(party: str) -> KeyPair:
    return KeyPair(party, Ed25519PrivateKey.generate())


def from_pem(party: str, pem: bytes) -> KeyPair:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the key of {party} is not an Ed25519 key")
    return KeyPair(party, key)


def public_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def key_id(public: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(base64.b64decode(public)).hexdigest()[:16]


def verify(public: str, data: bytes, signature: str) -> bool:
    """True when ``signature`` (base64) is the key's signature of ``data``; never raises on
    malformed input, which is simply not a valid signature."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
