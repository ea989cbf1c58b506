"""API keys: made once, shown once, stored only as a hash.

A key is a UUID, as Leonardo's are, so clients that validate the shape accept it. Its
first 8 hex digits are kept in clear as a lookup prefix (not a secret on its own); the
SHA-256 of the whole key proves possession and is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

PREFIX_LENGTH = 8


@dataclass(frozen=True)
class NewKey:
    secret: str
    lookup_prefix: str
    key_hash: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.strip().lower().encode()).hexdigest()


def lookup_prefix(secret: str) -> str:
    return secret.strip().lower()[:PREFIX_LENGTH]


def new_key() -> NewKey:
    secret = str(uuid.uuid4())
    return NewKey(secret=secret, lookup_prefix=lookup_prefix(secret), key_hash=hash_key(secret))


def key_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(secret), stored_hash)
