"""Submission passwords: argon2id hashes (RFC 9106) made by ``deliverwatch relay passwd``.

argon2-cffi writes and checks the PHC string form (``$argon2id$v=19$m=...``); hashes in the
``$scrypt$ln=..,r=..,p=..$SALT$HASH`` form (what passlib writes; stdlib ``hashlib.scrypt``)
are accepted too, for operators who made theirs elsewhere. Checking a password costs tens of
milliseconds on purpose, so the relay runs it in a worker thread, never on the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "verify_password"]

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with a fresh random salt."""
    return _HASHER.hash(password)


def _b64(text: str) -> bytes:
    """passlib's adapted base64 (``.`` for ``+``, no padding)."""
    return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4))


def _verify_scrypt(stored: str, password: str) -> bool:
    try:
        _, _, params, salt, digest = stored.split("$")
        opts = dict(p.split("=", 1) for p in params.split(","))
        n, r, p = 2 ** int(opts["ln"]), int(opts["r"]), int(opts["p"])
        want = _b64(digest)
        got = hashlib.scrypt(
            password.encode(), salt=_b64(salt), n=n, r=r, p=p, dklen=len(want), maxmem=2**30
        )
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(got, want)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (never raises on a malformed hash)."""
    if stored.startswith("$scrypt$"):
        return _verify_scrypt(stored, password)
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
