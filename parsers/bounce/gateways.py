"""Mail gateways that send an RFC 3464 report plus their own reason wording.

PowerMTA adds an ``X-PowerMTA-BounceCategory`` field, McAfee Email Gateway and Symantec
MessageLabs phrase unknown users and authentication refusals in fixed ways. The report is
read by the standard reader; these modules only add the vendor's verdict.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed
from parsers.bounce.rfc3464 import parse_status_text
from parsers.dsn import Failure

__all__ = ["parse"]

# https://download.port25.com/ (PowerMTA User's Guide, "bounce categories")
_POWERMTA_CATEGORIES = {
    "bad-domain": "hostunknown",
    "bad-mailbox": "userunknown",
    "inactive-mailbox": "suspend",
    "message-expired": "expired",
    "no-answer-from-host": "networkerror",
    "policy-related": "policyviolation",
    "quota-issues": "mailboxfull",
    "routing-errors": "systemerror",
    "spam-related": "spamdetected",
}
# field names and server replies in any case (RFC 5322 2.2; gateways change them)
_CATEGORY = re.compile(r"^X-PowerMTA-BounceCategory:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
_MCAFEE = {
    "userunknown": re.compile(
        r" User \(.+@.+\) unknown\. |550 Unknown user \S+@\S+|550 <.+?@.+?>\.+ User not exist"
        r"|No such user",
        re.IGNORECASE,
    )
}
_MESSAGELABS = {
    "userunknown": re.compile(r"542 .+ Rejected|No such user", re.IGNORECASE),
    "securityerror": re.compile(
        r"Please turn on SMTP Authentication in your mail client", re.IGNORECASE
    ),
}


def _powermta(ctx: Context, failures: list[Failure]) -> str:
    categories = _CATEGORY.findall(ctx.text)
    for index, failure in enumerate(failures):
        category = categories[index] if index < len(categories) else ""
        failure.reason = _POWERMTA_CATEGORIES.get(category.lower(), "")
    return "lhost:powermta"


def _tables(failures: list[Failure], table: dict[str, re.Pattern[str]]) -> None:
    for failure in failures:
        for reason, pattern in table.items():
            if pattern.search(failure.diagnostic):
                failure.reason = reason
                break


def parse(ctx: Context) -> Parsed | None:
    """Gateway reports recognised by their headers."""
    if "delivery report" in ctx.title and "x-powermta-bouncecategory" in ctx.lower:
        kind = "powermta"
    elif "Modified by McAfee" in ctx.header("X-NAI-Header") and ctx.title == "delivery status":
        kind = "mcafee"
    elif (
        ctx.has("X-Msg-Ref")
        and "MAILER-DAEMON@messagelabs.com" in ctx.from_
        and ctx.title.startswith("mail delivery failure")
    ):
        kind = "messagelabs"
    else:
        return None
    _human, original, failures = parse_status_text(ctx.text)
    if not failures:
        return None
    if kind == "powermta":
        family = _powermta(ctx, failures)
    else:
        _tables(failures, _MCAFEE if kind == "mcafee" else _MESSAGELABS)
        family = f"lhost:{kind}"
    return Parsed(family, failures, original)
