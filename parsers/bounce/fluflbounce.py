"""Last resort: flufl.bounce's detectors for address extraction.

flufl.bounce (Mailman's bounce detector) knows a long tail of old and odd formats (Netscape,
SMTP32, GroupWise, LLNL, many "simple match" wordings) that no other module here covers. It
only answers "which addresses failed, permanently or temporarily"; the surrounding text (via
``parsers.bounce.text.scan``) still supplies the diagnostic for classification.
"""

from __future__ import annotations

import re

from flufl.bounce import all_failures

from parsers.bounce.base import Context, Parsed, split_original
from parsers.bounce.text import BOUNDARIES, is_bounce_like, scan, sender_addresses
from parsers.dsn import Failure, clean_address

__all__ = ["FAMILY", "parse"]

FAMILY = "flufl"

# flufl.bounce's detectors are regex heuristics over arbitrary input; any of these can
# escape from them on damaged messages, and none of them should abort parsing.
_DETECTOR_ERRORS = (ValueError, TypeError, LookupError, AttributeError, IndexError, re.error)


def _decode(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return clean_address(text)


def parse(ctx: Context) -> Parsed | None:
    """Addresses flufl.bounce finds in a bounce-like message, in a stable order."""
    if not is_bounce_like(ctx):
        return None
    try:
        permanent, temporary = all_failures(ctx.msg)
    except _DETECTOR_ERRORS:
        return None
    excluded = sender_addresses(ctx)
    notice, original = split_original(ctx.text, BOUNDARIES)
    blocks = {f.address: f for f in scan(notice, set())}
    failures: list[Failure] = []
    for addresses, action in ((permanent, "failed"), (temporary, "delayed")):
        for address in sorted({_decode(a) for a in addresses} - {""}):
            if address in excluded or any(f.address == address for f in failures):
                continue
            block = blocks.get(address)
            failures.append(
                Failure(address=address, action=action,
                        alt_diagnostic=block.alt_diagnostic if block else "")
            )
    if not failures:
        return None
    return Parsed(FAMILY, failures, original)
