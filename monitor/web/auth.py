"""Bearer tokens of the API and the reports (``[web.tokens.NAME]``), compared in constant time.

Only SHA-256 digests of the configured tokens are kept in memory, and a presented token is
compared with every one of them (``hmac.compare_digest``, no early exit), so neither the
answer time nor a memory dump tells a token. ``Authorization: Bearer TOKEN`` is the API's
form (RFC 6750); ``Basic`` with the token as password (any user name) is also accepted so
that a browser can open ``/reports/`` with its own login prompt (RFC 7617). Tokens never
reach a log: the service logs the token's configured name only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ApiKey", "authenticate", "make_key"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    digest: bytes  # SHA-256 of the token
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """``write`` implies ``read``."""
        return scope in self.scopes or (scope == "read" and "write" in self.scopes)


def make_key(name: str, token: str, scopes: Iterable[str]) -> ApiKey:
    return ApiKey(name, hashlib.sha256(token.encode("utf-8")).digest(), frozenset(scopes))


def _presented(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def authenticate(headers: Mapping[str, str], keys: Iterable[ApiKey]) -> ApiKey | None:
    """The configured key whose token the request presents, or None."""
    token = _presented(headers)
    if token is None:
        return None
    digest = hashlib.sha256(token.encode("utf-8")).digest()
    found = None
    for key in keys:  # every key compared: the time does not depend on which one matched
        if hmac.compare_digest(digest, key.digest):
            found = key
    return found
