"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``, as Stripe does.

Every webhook POST carries::

    Deliverwatch-Signature: t=1767225600,v1=5257a869e7ec...

``t`` is the Unix time of the attempt and ``v1`` the hex HMAC-SHA256, under the endpoint's
secret, of the ASCII timestamp, a full stop and the raw request body. A receiver recomputes
it over the bytes it received (before any JSON parsing), compares in constant time, and
refuses timestamps too far from its clock (a replayed old request fails even with a valid
MAC). Several ``v1=`` values may appear during a secret rotation; one match is enough.
Pure: the caller passes the time.
"""

from __future__ import annotations

import hashlib
import hmac

from parsers.errors import ParseError

__all__ = ["HEADER", "BadSignature", "sign", "signature_header", "verify"]

HEADER = "Deliverwatch-Signature"


class BadSignature(ParseError):
    """The signature header is missing, malformed, stale or does not verify."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}." + body``."""
    return hmac.new(
        secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    """The value of the ``Deliverwatch-Signature`` header."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    header: str | None, body: bytes, *, secret: bytes, now: int, tolerance: int = 300
) -> int:
    """Check a ``Deliverwatch-Signature`` header against ``body``; return its timestamp.

    Raises ``BadSignature`` when the header is missing or malformed, its timestamp is more
    than ``tolerance`` seconds from ``now``, or no ``v1`` value matches.
    """
    if not header:
        raise BadSignature("no signature header", where="webhook")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise BadSignature("signature header lacks t= or v1=", where="webhook")
    if abs(now - timestamp) > tolerance:
        raise BadSignature("signature timestamp outside the tolerance", where="webhook")
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise BadSignature("signature does not verify", where="webhook")
    return timestamp
