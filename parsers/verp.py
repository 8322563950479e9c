"""Signed VERP return paths: ``<localpart>+<token>@<bounce-domain>``.

Why a signed token: a bounce or complaint names a recipient, and acting on it suppresses
that address. Anyone can mail our bounce address a forged DSN; only a token we minted, bound
to one sent message and one recipient, proves the report is about mail we really sent.

Token design (all choices forced by RFC 5321 and by real MTAs):

* Content: ``version (1 byte) | message id (8 bytes, big-endian unsigned) | recipient hash
  (4 bytes: SHA-256 of the lower-cased address, truncated) | HMAC-SHA256 over the preceding
  bytes, truncated to 8 bytes``. 21 bytes in all.
* The recipient is hashed, not embedded: the full address would not fit (RFC 5321
  4.5.3.1.1 limits a local part to 64 octets) and would leak addresses into logs of every
  relay. Together with the message id the hash is enough to find the row in our send log,
  and 32 bits cannot collide within the recipients of one message in practice.
* Encoding: RFC 4648 base32 without padding, lower case: 34 characters. Base32 survives the
  MTAs that lower-case (or upper-case) local parts, which base64 would not.
* 64-bit truncated HMAC (NIST SP 800-107 allows truncation to 64 bits for authentication of
  this kind): a forger must guess 2**64 values per message.

With the default ``bounce`` local part the whole local part is 41 octets; ``encode`` refuses
local parts that would exceed 64. ``decode`` compares MACs in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from parsers.errors import ParseError

__all__ = [
    "BadVerpSignature",
    "MalformedVerp",
    "VerpToken",
    "decode",
    "encode",
    "find_verp_token",
    "recipient_hash",
]

_VERSION = 1
_TOKEN_CHARS = 34
_MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
_LAYOUT = struct.Struct(">BQ4s")
_MAC_BYTES = 8
_TOKEN = re.compile(rf"\+([A-Za-z2-7]{{{_TOKEN_CHARS}}})@")


class MalformedVerp(ParseError):
    """The address has no token of our format (not ours, or mangled in transit)."""


class BadVerpSignature(ParseError):
    """The token is well formed but its HMAC does not verify: forged or another key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerpToken:
    """What a verified token proves: we sent message ``message_id`` to this recipient."""

    message_id: int
    recipient_hash: bytes
    token: str

    def matches(self, recipient: str) -> bool:
        """True if ``recipient`` is the address the token was minted for."""
        return hmac.compare_digest(self.recipient_hash, recipient_hash(recipient))


def recipient_hash(address: str) -> bytes:
    """4-byte digest of an address, case-insensitively (MTAs change case freely)."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).digest()[:4]


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]


def encode(
    *, key: bytes, message_id: int, recipient: str, bounce_domain: str, local_part: str = "bounce"
) -> str:
    """The return path for one (message, recipient) pair; ValueError if it cannot be built."""
    if not key:
        raise ValueError("VERP key must not be empty")
    if not 0 <= message_id < 2**64:
        raise ValueError("message_id must fit in 64 bits")
    if not local_part or "+" in local_part or "@" in local_part:
        raise ValueError("local_part must be non-empty and contain neither '+' nor '@'")
    body = _LAYOUT.pack(_VERSION, message_id, recipient_hash(recipient))
    token = base64.b32encode(body + _mac(key, body)).decode("ascii").rstrip("=").lower()
    full_local = f"{local_part}+{token}"
    if len(full_local.encode("utf-8")) > _MAX_LOCAL_PART:
        raise ValueError(f"local part would be {len(full_local)} octets, over RFC 5321's 64")
    return f"{full_local}@{bounce_domain.lower()}"


def find_verp_token(text: str | None) -> str | None:
    """The first token of our format in ``text`` (an address or a header), lower-cased."""
    if not text:
        return None
    match = _TOKEN.search(text)
    return match.group(1).lower() if match else None


def decode(address_or_token: str, *, key: bytes) -> VerpToken:
    """Verify a return path (or a bare token) and say which message and recipient it names.

    Raises ``MalformedVerp`` when there is no token of our format and ``BadVerpSignature``
    when the HMAC does not verify under ``key``.
    """
    token = find_verp_token(address_or_token)
    if token is None:
        candidate = address_or_token.strip()
        if re.fullmatch(rf"[A-Za-z2-7]{{{_TOKEN_CHARS}}}", candidate):
            token = candidate.lower()
    if token is None:
        raise MalformedVerp("no VERP token of our format", where="verp")
    try:
        raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError) as exc:
        raise MalformedVerp("token is not valid base32", where="verp") from exc
    body, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if len(mac) != _MAC_BYTES:
        raise MalformedVerp("token has the wrong length", where="verp")
    version, message_id, rcpt = _LAYOUT.unpack(body)
    if version != _VERSION:
        raise MalformedVerp(f"unknown token version {version}", where="verp")
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise BadVerpSignature("token signature does not verify", where="verp")
    return VerpToken(message_id=message_id, recipient_hash=rcpt, token=token)
