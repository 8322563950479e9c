"""Errors raised inside ``parsers``.

Hierarchy (the root and the shared leaves live here; the others beside the code that raises
them; ``tests/test_error_tree.py`` checks that this drawing names every one)::

    ValueError
     └── ParseError            anything in the input that stops a parser
          ├── NotAReport       well-formed input that is not the format asked for
          ├── LimitExceeded    input that would blow a configured bound (zip bomb, depth)
          ├── AddressError         parsers.address: not a usable address or domain
          ├── PathError            parsers.smtppath: an SMTP path the relay refuses
          ├── MalformedVerp        parsers.verp: no token of our format in the address
          ├── BadVerpSignature     parsers.verp: a token whose HMAC does not verify
          ├── BadSignature         parsers.webhooksig: a webhook signature that does not verify
          ├── BadToken             parsers.webtoken: a web token we did not mint
          └── Unsupported          parsers.mimeparse: a layout the fast reader leaves to
                                   the stdlib parser (caught by its callers, never escapes)

``parse_message`` never lets these escape: it turns them into ``Report(kind=UNKNOWN,
error=str(exc))``. Format-specific entry points (``parse_dmarc_aggregate`` ...) raise them so a
caller can tell "not mine" from "damaged".
"""

from __future__ import annotations

__all__ = ["LimitExceeded", "NotAReport", "ParseError"]


class ParseError(ValueError):
    """The input could not be parsed; ``str()`` says what and where."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class NotAReport(ParseError):
    """The input is readable but is not the kind of document the parser handles."""


class LimitExceeded(ParseError):
    """The input exceeds a safety limit (decompressed size, MIME depth, part count)."""
