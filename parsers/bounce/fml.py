"""fml, the Japanese mailing-list manager (fml.org): notices from ``<list>-admin``.

fml answers posts it will not distribute (from non-members, looping or duplicated messages,
security alerts) with a plain-text notice naming the address in angle brackets at the end
of a line, then "Original mail as follows:". It marks its mail with an ``X-MLServer``
header and Message-IDs of the form ``<digits.FML...@host>``; all three must be present.
The wording gives the reason; the subject decides when the body does not.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, split_original
from parsers.dsn import Failure, clean_address

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:fml"
_BOUNDARIES = ("Original mail as follows:",)
_MESSAGE_ID = re.compile(r"^<\d+\.FML[^@]*@[^>]+>$")
_RECIPIENT = re.compile(r"<([^ <>]+@[^ <>]+)>\.\s*$")
# What fml says in the body, by reason
_BODY: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "rejected",
        re.compile(
            r"NOT MEMBER article from |reject mail from \S+@|reject since .+ header may cause"
            r" mail loop|reject spammers:|You are not a member of this mailing list"
        ),
    ),
    (
        "systemerror",
        re.compile(
            r"Duplicated Message-ID|fml .+ has detected a loop condition|Loop Back Warning:"
        ),
    ),
    ("securityerror", re.compile(r"Security alert:", re.IGNORECASE)),
)
# ... and in the subject, when the body did not say
_SUBJECT: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "rejected",
        re.compile(
            r"NOT MEMBER article from |reject mail |Spam mail from a spammer is rejected"
            r"|You .+ are not member"
        ),
    ),
    (
        "systemerror",
        re.compile(r"fml system error message|Loop Alert: |Loop Back Warning: |UNIX FROM Loop"),
    ),
    ("securityerror", re.compile(r"Security Alert")),
)


def _is_fml(ctx: Context) -> bool:
    return (
        ctx.has("X-MLServer")
        and "-admin@" in ctx.from_
        and bool(_MESSAGE_ID.match(ctx.header("Message-ID").strip()))
    )


def _reason(diagnostic: str, subject: str) -> str:
    for reason, pattern in _BODY:
        if pattern.search(diagnostic):
            return reason
    return next((reason for reason, pattern in _SUBJECT if pattern.search(subject)), "")


def parse(ctx: Context) -> Parsed | None:
    """Notices whose headers say fml sent them."""
    if not _is_fml(ctx):
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures: list[Failure] = []
    for raw_line in notice.split("\n"):
        line = raw_line.strip()
        found = _RECIPIENT.search(line)
        address = clean_address(found.group(1)) if found else ""
        if address:
            failures.append(Failure(address=address, diagnostic=line))
        elif line and failures:
            failures[-1].diagnostic += " " + line
    for failure in failures:
        failure.reason = _reason(failure.diagnostic, ctx.subject)
    return Parsed(FAMILY, failures, original) if failures else None
