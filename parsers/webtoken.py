"""Signed tokens of the web service: one-click unsubscribe, open pixel and click redirect.

Every link that a message carries back to us names one sent message (``sent_messages.id``)
and its recipient, and is signed, so that nobody can unsubscribe an address, fake an open or
bounce a visitor through our click redirect without a token we minted:

* ``/u/TOKEN`` and ``mailto:unsub+TOKEN@DOMAIN`` (RFC 2369 List-Unsubscribe, RFC 8058
  one-click POST): ``version | sent id (8 bytes) | recipient hash (4) | MAC (12)``, 25 bytes,
  RFC 4648 base32 lower-cased without padding: 40 characters. Base32 because the same token
  is the local part of the mailto address, and MTAs change the case of local parts;
  ``unsub+`` and 40 characters stay far under RFC 5321 4.5.3.1.1's 64 octets.
* ``/o/TOKEN.gif`` (open pixel): the same layout under another key, same encoding.
* ``/c/TOKEN`` (click): ``version | sent id | recipient hash | target URL (UTF-8) | MAC``,
  base64url without padding (URL-only, 1.33x instead of base32's 1.6x). The target URL is
  inside the signed bytes: the redirect goes only where we pointed it, so ``/c/`` is never
  an open redirect, and only ``http``/``https`` targets are minted or accepted.

Keys: each kind signs with its own key derived from the configured one
(``HMAC-SHA256(key, "deliverwatch web token/" + kind)``), so a token of one kind never
verifies as another, nor as a VERP token (``parsers.verp``) made with the same key. The
recipient is a 4-byte hash (as in VERP): the address never appears in a URL, a proxy's log
or a browser history; the web service reads the address from the sent row and checks the
hash. A 96-bit truncated HMAC-SHA256 (NIST SP 800-107 allows truncation down to 64 bits):
guessing one valid token takes 2**96 tries.

Decoding verifies the MAC in constant time before anything inside the token is trusted, and
accepts several keys (the current one first, then retired ones during a rotation).
Pure: no clock, no I/O; the caller passes the keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlsplit

from parsers.errors import ParseError
from parsers.verp import recipient_hash

__all__ = [
    "MAX_URL_BYTES",
    "BadToken",
    "LinkMaker",
    "TokenKind",
    "WebToken",
    "click_token",
    "decode_token",
    "find_unsubscribe_token",
    "open_token",
    "token_key",
    "unsubscribe_token",
    "unsubscribe_token_in_headers",
]

_VERSION = 1
_HEAD = struct.Struct(">BQ4s")  # version, sent id, recipient hash
_MAC_BYTES = 12
_B32_CHARS = 40  # (13 + 12) bytes * 8 / 5
#: Longest target URL a click token carries (browsers and proxies cope with ~8 KB URLs;
#: the token is 4/3 of the URL plus 34 characters).
MAX_URL_BYTES = 2048
_B32 = re.compile(rf"[a-z2-7]{{{_B32_CHARS}}}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
#: ``unsub+`` must start the local part (``xunsub+...`` is somebody else's address).
_NOT_ATEXT_BEFORE = r"(?<![\w.!#$%&'*/=?^`{|}~+-])"


class TokenKind(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    OPEN = "open"
    CLICK = "click"


class BadToken(ParseError):
    """Not a token we minted: malformed, truncated, altered, forged or signed with another
    key. The web service answers it with an error page and records nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebToken:
    """What a verified token proves: we sent message ``sent_id`` to the hashed recipient
    (and, for a click, put ``url`` in it)."""

    kind: TokenKind
    sent_id: int
    recipient_hash: bytes
    url: str | None = None

    def matches(self, recipient: str) -> bool:
        """True if ``recipient`` is the address the token was minted for."""
        return hmac.compare_digest(self.recipient_hash, recipient_hash(recipient))


def token_key(key: bytes, kind: TokenKind) -> bytes:
    """The key of one kind of token, derived from the configured key."""
    if not key:
        raise ValueError("token key must not be empty")
    return hmac.new(key, b"deliverwatch web token/" + kind.value.encode(), hashlib.sha256).digest()


def _mac(key: bytes, kind: TokenKind, body: bytes) -> bytes:
    return hmac.new(token_key(key, kind), body, hashlib.sha256).digest()[:_MAC_BYTES]


def _head(sent_id: int, recipient: str) -> bytes:
    if not 0 <= sent_id < 2**63:
        raise ValueError("sent id must be a non-negative 63-bit integer")
    return _HEAD.pack(_VERSION, sent_id, recipient_hash(recipient))


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def unsubscribe_token(*, key: bytes, sent_id: int, recipient: str) -> str:
    """The one-click unsubscribe token of one (sent message, recipient)."""
    body = _head(sent_id, recipient)
    return _b32(body + _mac(key, TokenKind.UNSUBSCRIBE, body))


def open_token(*, key: bytes, sent_id: int, recipient: str) -> str:
    """The open-pixel token of one (sent message, recipient)."""
    body = _head(sent_id, recipient)
    return _b32(body + _mac(key, TokenKind.OPEN, body))


def _check_target(url: str) -> bytes:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("a click target must be an absolute http or https URL")
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        raise ValueError("a click target must not contain spaces or control characters")
    raw = url.encode("utf-8")
    if len(raw) > MAX_URL_BYTES:
        raise ValueError(f"a click target is limited to {MAX_URL_BYTES} bytes")
    return raw


def click_token(*, key: bytes, sent_id: int, recipient: str, url: str) -> str:
    """The click token carrying ``url`` for one (sent message, recipient)."""
    body = _head(sent_id, recipient) + _check_target(url)
    raw = body + _mac(key, TokenKind.CLICK, body)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _raw(kind: TokenKind, token: str) -> bytes:
    try:
        if kind is TokenKind.CLICK:
            if not _B64URL.fullmatch(token) or len(token) % 4 == 1:
                raise BadToken("not a click token", where="token")
            return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if not _B32.fullmatch(token.lower()):
            raise BadToken(f"not an {kind.value} token", where="token")
        return base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, BadToken):
            raise
        raise BadToken("token is not validly encoded", where="token") from exc


def decode_token(kind: TokenKind, token: str, *, keys: Sequence[bytes]) -> WebToken:
    """Verify ``token`` as a token of ``kind`` under one of ``keys`` (current key first).

    Raises ``BadToken`` for anything but a token we minted, unchanged. The MAC is checked
    (in constant time) before any field of the token is read.
    """
    if not keys:
        raise BadToken("no token key configured", where="token")
    raw = _raw(kind, token)
    minimum = _HEAD.size + _MAC_BYTES + (1 if kind is TokenKind.CLICK else 0)
    if len(raw) < minimum or (kind is not TokenKind.CLICK and len(raw) != minimum):
        raise BadToken("token has the wrong length", where="token")
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not any(hmac.compare_digest(mac, _mac(key, kind, body)) for key in keys if key):
        raise BadToken("token signature does not verify", where="token")
    version, sent_id, rcpt = _HEAD.unpack(body[: _HEAD.size])
    if version != _VERSION:
        raise BadToken(f"unknown token version {version}", where="token")
    url = None
    if kind is TokenKind.CLICK:
        try:
            url = body[_HEAD.size :].decode("utf-8")
            _check_target(url)
        except (UnicodeDecodeError, ValueError) as exc:  # only we sign: a bug, still refused
            raise BadToken(f"click target refused: {exc}", where="token") from exc
    return WebToken(kind=kind, sent_id=sent_id, recipient_hash=rcpt, url=url)


def find_unsubscribe_token(address: str | None, local_part: str = "unsub") -> str | None:
    """The token of an ``unsub+TOKEN@domain`` address (any case), lower-cased; else None."""
    if not address:
        return None
    pattern = _NOT_ATEXT_BEFORE + re.escape(local_part) + r"\+([A-Za-z2-7]{40})@"
    match = re.search(pattern, address, re.IGNORECASE)
    return match.group(1).lower() if match else None


_ADDRESSED_TO = re.compile(
    rb"^(?:to|cc|delivered-to|x-original-to|envelope-to|x-envelope-to|x-rcpt-to)[ \t]*:"
    rb"(?:[^\r\n]|\r?\n[ \t])*?[A-Za-z0-9._-]\+([A-Za-z2-7]{40})@",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_SCAN = 64 * 1024


def unsubscribe_token_in_headers(raw: bytes) -> str | None:
    """The 40-character token of a ``LOCAL+TOKEN@DOMAIN`` address the message was sent to
    (``To``, ``Cc``, ``Delivered-To``, ``X-Original-To``, ``Envelope-To``...), lower-cased.

    Only the message's own header section is read (at most 64 KB): a bounce or complaint
    encloses our original, whose ``List-Unsubscribe`` names the same kind of address, and
    that must not count as a request. Any local part is accepted: the token's MAC, checked
    by the caller with ``decode_token``, is what makes it ours.
    """
    head = raw[:_HEADER_SCAN]
    end = re.search(rb"\r?\n\r?\n", head)
    if end is not None:
        head = head[: end.start()]
    match = _ADDRESSED_TO.search(head)
    return match.group(1).decode("ascii").lower() if match else None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkMaker:
    """Builds the links a message carries back to the web service (the relay calls it).

    ``key``: the current token key (``monitor.daemon.wiring.web_links`` derives it from the
    config); ``base_url``: the public ``https://host[/prefix]`` of ``deliverwatch web``;
    ``unsubscribe_domain``: the domain of ``unsub+TOKEN@`` (a mailbox the poller reads).
    """

    key: bytes
    base_url: str
    unsubscribe_domain: str = ""
    local_part: str = "unsub"

    def unsubscribe_url(self, sent_id: int, recipient: str) -> str:
        token = unsubscribe_token(key=self.key, sent_id=sent_id, recipient=recipient)
        return f"{self.base_url.rstrip('/')}/u/{token}"

    def unsubscribe_mailto(self, sent_id: int, recipient: str) -> str | None:
        if not self.unsubscribe_domain:
            return None
        token = unsubscribe_token(key=self.key, sent_id=sent_id, recipient=recipient)
        address = f"{self.local_part}+{token}@{self.unsubscribe_domain.lower().rstrip('.')}"
        return f"mailto:{quote(address, safe='@+')}"

    def list_unsubscribe(self, sent_id: int, recipient: str) -> dict[str, str]:
        """The RFC 2369 / RFC 8058 header pair for one recipient of one message:
        ``List-Unsubscribe: <https://HOST/u/TOKEN>, <mailto:unsub+TOKEN@DOMAIN>`` and
        ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058 3.1: the https
        URI is required for one-click; the mailto is for clients without it)."""
        links = [f"<{self.unsubscribe_url(sent_id, recipient)}>"]
        mailto = self.unsubscribe_mailto(sent_id, recipient)
        if mailto is not None:
            links.append(f"<{mailto}>")
        return {
            "List-Unsubscribe": ", ".join(links),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    def open_url(self, sent_id: int, recipient: str) -> str:
        token = open_token(key=self.key, sent_id=sent_id, recipient=recipient)
        return f"{self.base_url.rstrip('/')}/o/{token}.gif"

    def click_url(self, sent_id: int, recipient: str, url: str) -> str:
        token = click_token(key=self.key, sent_id=sent_id, recipient=recipient, url=url)
        return f"{self.base_url.rstrip('/')}/c/{token}"
