"""Judge one-click unsubscribe (RFC 8058) on a returned copy of our own bulk mail.

Bounces and complaints often enclose the message we sent, headers intact. That is the one
place a monitor without the sending path can see what recipients' providers saw: since
2024 Gmail and Yahoo require bulk mail to carry RFC 8058 one-click unsubscribe, and a
template that lost its List-Unsubscribe-Post line is exactly the regression nobody notices
until complaint rates climb. RFC 8058 asks for three things (section 3.1 and 4):

* ``List-Unsubscribe`` (RFC 2369) holds at least one ``https:`` URI;
* ``List-Unsubscribe-Post`` holds the single key/value ``List-Unsubscribe=One-Click``;
* a DKIM signature covers both fields.

Only mail that looks bulk is judged (our campaign header, ``List-Id``, ``Precedence:
bulk/list/junk``, Google's ``Feedback-ID`` or any ``List-Unsubscribe``): a bounced password
reset legitimately has none of it. DKIM coverage is only judged when the enclosure still
carries a ``DKIM-Signature`` (some reporters strip it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Literal

from parsers.records import Original

__all__ = ["OneClick", "check_one_click", "sender_domain"]

# RFC 2369 2.: each URI in angle brackets, comma-separated
_ANGLED_URI = re.compile(r"<\s*([^<>]*?)\s*>")
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_ONE_CLICK = "list-unsubscribe=one-click"


@dataclass(frozen=True, slots=True)
class OneClick:
    """The verdict on one enclosed message; ``findings`` are stable codes for the store."""

    status: Literal["pass", "warn", "fail"]
    findings: tuple[str, ...]
    detail: str


def sender_domain(original: Original) -> str | None:
    """The lower-cased domain of the first From address, or None when there is none."""
    if not original.from_:
        return None
    for _name, address in getaddresses([original.from_]):
        domain = address.rpartition("@")[2].strip().rstrip(".").lower()
        if "@" in address and "." in domain and " " not in domain:
            return domain
    return None


def _looks_bulk(original: Original) -> bool:
    precedence = (original.precedence or "").strip().lower()
    return bool(
        original.campaign
        or original.list_id
        or original.feedback_id
        or original.list_unsubscribe
        or precedence in _BULK_PRECEDENCE
    )


def _covered(signed: str) -> bool:
    names = set(signed.split(":"))
    return "list-unsubscribe" in names and "list-unsubscribe-post" in names


def check_one_click(original: Original | None) -> OneClick | None:
    """RFC 8058 compliance of an enclosed message, or None when it cannot be judged (no
    header block, no From domain, or not bulk mail)."""
    if original is None or original.from_ is None or not _looks_bulk(original):
        return None
    if not original.list_unsubscribe:
        return OneClick("fail", ("list_unsubscribe_missing",), "no List-Unsubscribe field")
    uris = [u.lower() for u in _ANGLED_URI.findall(original.list_unsubscribe)]
    findings: list[str] = []
    if not any(u.startswith("https://") for u in uris):
        findings.append("no_https_uri")
    post = re.sub(r"\s+", "", (original.list_unsubscribe_post or "")).lower()
    if not original.list_unsubscribe_post:
        findings.append("list_unsubscribe_post_missing")
    elif post != _ONE_CLICK:
        findings.append("list_unsubscribe_post_invalid")
    if findings:
        detail = {
            "no_https_uri": "List-Unsubscribe has no https: URI",
            "list_unsubscribe_post_missing": "no List-Unsubscribe-Post field",
            "list_unsubscribe_post_invalid": "List-Unsubscribe-Post is not "
            "'List-Unsubscribe=One-Click'",
        }
        return OneClick("fail", tuple(findings), "; ".join(detail[f] for f in findings))
    if original.dkim_signed and not any(_covered(h) for h in original.dkim_signed):
        return OneClick(
            "warn",
            ("not_dkim_covered",),
            "no DKIM signature covers List-Unsubscribe and List-Unsubscribe-Post",
        )
    if not original.dkim_signed:
        return OneClick("pass", ("dkim_not_enclosed",), "one-click present (DKIM not enclosed)")
    return OneClick("pass", (), "one-click present and DKIM-signed")
