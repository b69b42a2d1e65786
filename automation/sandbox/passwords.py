"""How both emulated apps store and check a password: salted scrypt hashes, never the password itself.

Each app's rules for a new password (the portal's requirements, NetSuite's strength) stay with that app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt, salted: sandbox passwords are fake, but the habit of never storing one in clear is not."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


@cache
def seed_hash(password: str) -> str:
    """The hash of a seed fixture's password."""
    # Hashed once per process: every test resets the store, and scrypt is slow by design.
    return hash_password(password)


def password_matches(password: str, stored: str | None) -> bool:
    """Whether `password` is the one `stored` was hashed from; an empty password or no hash never matches."""
    if not stored or not password:
        return False
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)).split("$")[2], digest)
