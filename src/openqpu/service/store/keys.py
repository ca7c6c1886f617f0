"""API keys: ``oqk_<key id>_<secret>``, shown once, stored as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "oqk"


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: ``token`` is shown to the user once and never stored."""

    key_id: str
    token: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret part: keys carry 256 random bits, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> NewKey:
    """Make a key with a random id and secret."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}_{key_id}_{secret}", hash_secret(secret))


def split_token(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed token, else None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
