"""Passwords and API tokens.

Passwords are hashed with scrypt (N=2**14, r=8, p=5, a 16-byte random salt),
one of the parameter sets that the OWASP Password Storage Cheat Sheet lists
for scrypt. The stored form names the parameters, so they can be raised
later without breaking existing hashes:
`scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`. Hashing takes a fraction of a
second of CPU, so it runs in a worker thread, off the event loop.

API tokens are 32 random bytes in hex; the store keeps only their SHA-256
(`server.handlers.base.hash_token`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from server.handlers.base import hash_token
from storage.base import Store

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 5
SALT_BYTES = 16
HASH_BYTES = 32
# scrypt needs 128 * N * r bytes (16 MiB here); OpenSSL's default cap is 32 MiB.
SCRYPT_MAXMEM = 64 * 1024 * 1024

# A valid hash of a random password: checking a login for an unknown username
# against it costs the same time as for a known one.
_DUMMY_HASH = ""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=HASH_BYTES
    )


def hash_password_sync(password: str) -> str:
    """Return the stored form of a password; blocks for the hash's duration."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Check a password against its stored form; False for a malformed one."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return False
    digest = _scrypt(password, salt, n, r, p)
    return hmac.compare_digest(digest, expected)


async def hash_password(password: str) -> str:
    """Hash a password in a worker thread and return its stored form."""
    return await asyncio.get_running_loop().run_in_executor(
        None, hash_password_sync, password
    )


async def verify_password(password: str, stored: str | None) -> bool:
    """Check a password in a worker thread.

    With `stored` None (no such user), a dummy hash is checked instead, so
    the check takes as long as for an existing user.
    """
    global _DUMMY_HASH
    if stored is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH = await hash_password(secrets.token_hex(16))
        await asyncio.get_running_loop().run_in_executor(
            None, verify_password_sync, password, _DUMMY_HASH
        )
        return False
    return await asyncio.get_running_loop().run_in_executor(
        None, verify_password_sync, password, stored
    )


async def issue_token(store: Store, user_id: int) -> str:
    """Create an API token for a user, store its hash and return the key."""
    key = secrets.token_hex(32)
    await store.create_token(user_id, hash_token(key))
    return key
