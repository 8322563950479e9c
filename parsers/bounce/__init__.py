"""Bounce families: one small module per MTA or service that writes its own format.

``dispatch`` tries the families in ``FAMILIES`` order: formats with a distinctive signature
first, the standard RFC 3464 reader after them, and the free-text reader (which consults
flufl.bounce) last, because a standard DSN part is more reliable than any prose but some
MTAs wrap prose around an incomplete one.
"""

from __future__ import annotations

from collections.abc import Sequence

from parsers.bounce import (
    activehunter,
    amazon,
    aol,
    biglobe,
    courier,
    dragonfly,
    exim,
    ezweb,
    facebook,
    fml,
    gateways,
    google,
    imailserver,
    interscanmss,
    lotus,
    mfilter,
    microsoft,
    oneandone,
    opensmtpd,
    postfix,
    qmail,
    rfc3464,
    sendmail,
    text,
    v5sendmail,
    verizon,
    x3,
    x5,
    zoho,
)
from parsers.bounce.base import Context, Family, Parsed

__all__ = ["FAMILIES", "Context", "Family", "Parsed", "dispatch"]

FAMILIES: tuple[Family, ...] = (
    activehunter,
    amazon,
    aol,
    biglobe,
    courier,
    dragonfly,
    exim,
    ezweb,
    facebook,
    fml,
    gateways,
    google,
    imailserver,
    interscanmss,
    lotus,
    mfilter,
    microsoft,
    oneandone,
    opensmtpd,
    postfix,
    qmail,
    sendmail,
    v5sendmail,
    verizon,
    x3,
    x5,
    zoho,
    rfc3464,
    text,
)


def dispatch(ctx: Context, families: Sequence[Family] = FAMILIES) -> Parsed | None:
    """The first family that recognises the report, with at least one recipient.

    ``families`` is every module in order; a shorter list measures how the others (above
    all the generic ``rfc3464`` and ``text`` readers) fare without one (issue 18,
    ``bench/bench_bounces.py``).
    """
    for family in families:
        parsed = family.parse(ctx)
        if parsed is not None and parsed.failures:
            return parsed
    return None
