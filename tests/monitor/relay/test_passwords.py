"""Submission passwords: argon2id from ``relay passwd``, scrypt hashes made elsewhere."""

from __future__ import annotations

import base64
import hashlib

from monitor.relay.passwords import hash_password, verify_password


def test_argon2id_round_trip() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "Correct horse")
    assert hash_password("correct horse") != stored  # a fresh salt each time


def test_scrypt_phc_hashes_are_accepted() -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"s3cret", salt=salt, n=2**14, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode().rstrip("=").replace("+", ".")

    stored = f"$scrypt$ln=14,r=8,p=1${b64(salt)}${b64(digest)}"
    assert verify_password(stored, "s3cret") and not verify_password(stored, "nope")


def test_malformed_hashes_never_match() -> None:
    for stored in ("", "$argon2id$garbage", "$scrypt$ln=x$y$z", "plain"):
        assert not verify_password(stored, "")
