"""DKIM key records (``<selector>._domainkey.<domain>`` TXT) -> :class:`DkimKey`.

RFC 6376 3.6.1 gives the tags; RFC 8301 forbids RSA keys under 1024 bits and rsa-sha1, and
recommends 2048; RFC 8463 adds ed25519 (``p=`` is the raw 32-byte key). Keys are decoded with
``cryptography`` so that the size is the real modulus size and a key published under the
wrong ``k=`` is caught (vector ``dkim-key-mismatch``). The public key is kept as DER
SubjectPublicKeyInfo so the monitor can compare it with the configured signing key.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from parsers.dnsrec.tags import parse_tags
from parsers.errors import ParseError

__all__ = ["DkimKey", "parse_dkim_key"]

RSA_MIN_BITS = 1024  # RFC 8301 3.2: verifiers MUST NOT accept smaller
RSA_GOOD_BITS = 2048  # RFC 8301 3.2: signers SHOULD use at least 2048


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimKey:
    """A parsed key record with its findings (``errors`` make it unusable)."""

    text: str
    key_type: str | None = None
    hashes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    key_bits: int | None = None
    public_key_der: bytes | None = None  # SubjectPublicKeyInfo
    revoked: bool = False
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


def _load_key(key_type: str, raw: bytes) -> tuple[int, bytes]:
    """(bits, SPKI DER) or ParseError("invalid_public_key")."""
    try:
        if key_type == "ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return 256, der
        try:
            loaded = serialization.load_der_public_key(raw)
        except ValueError:  # some publishers put a bare PKCS#1 RSAPublicKey
            loaded = serialization.load_der_public_key(_pkcs1_to_spki(raw))
    except (ValueError, TypeError) as exc:
        raise ParseError("invalid_public_key", where="dkim") from exc
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ParseError("invalid_public_key", where="dkim")
    der = loaded.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return loaded.key_size, der


def _pkcs1_to_spki(raw: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey in SubjectPublicKeyInfo (rsaEncryption, NULL params)."""
    header = bytes.fromhex("300d06092a864886f70d0101010500")
    bitstring = b"\x03" + _der_len(len(raw) + 1) + b"\x00" + raw
    body = header + bitstring
    return b"\x30" + _der_len(len(body)) + body


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _errors(text: str) -> tuple[dict[str, str], list[str]]:
    try:
        pairs = parse_tags(text, where="dkim")
    except ParseError as exc:
        return {}, [exc.message]
    tags = {k.lower(): v for k, v in pairs}
    if "v" in tags and (pairs[0][0].lower() != "v" or tags["v"] != "DKIM1"):
        return tags, ["invalid_version"]
    if "p" not in tags:
        return tags, ["missing_public_key"]
    return tags, []


def parse_dkim_key(text: str) -> DkimKey:
    """Parse and judge one DKIM key record; never raises (findings are in the record)."""
    tags, errors = _errors(text)
    if errors:
        return DkimKey(text=text, errors=tuple(errors))
    key_type = tags.get("k", "rsa").lower()
    hashes = tuple(h.strip().lower() for h in tags.get("h", "").split(":") if h.strip())
    flags = tuple(f.strip().lower() for f in tags.get("t", "").split(":") if f.strip())
    warnings: list[str] = []
    if "y" in flags:
        warnings.append("testing_mode_t_y")
    if hashes and "sha256" not in hashes:
        warnings.append("sha1_only_deprecated")
    head = DkimKey(
        text=text, key_type=key_type, hashes=hashes, flags=flags, warnings=tuple(warnings)
    )
    if key_type not in ("rsa", "ed25519"):
        return replace(head, errors=("unknown_key_type",))
    data = re.sub(r"\s+", "", tags["p"])
    if not data:
        return replace(head, revoked=True, errors=("key_revoked",))
    try:
        raw = base64.b64decode(data, validate=True)
        bits, der = _load_key(key_type, raw)
    except (binascii.Error, ValueError, ParseError):
        return replace(head, errors=("invalid_public_key",))
    if key_type == "rsa" and bits < RSA_MIN_BITS:
        return replace(head, key_bits=bits, public_key_der=der, errors=("rsa_key_below_1024",))
    if key_type == "rsa" and bits < RSA_GOOD_BITS:
        warnings.append("rsa_key_below_2048")
    return replace(head, key_bits=bits, public_key_der=der, warnings=tuple(warnings))
