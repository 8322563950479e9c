"""Google: consumer Gmail notices, Google Workspace DSNs and Google Groups refusals.

All three come from ``mailer-daemon@googlemail.com`` with a "Delivery Status Notification"
subject; headers tell them apart (Groups adds X-Failed-Recipients and X-Google-Smtp-Source,
Workspace X-Gm-Message-State). Old Gmail notices end the remote answer with Google's
"(state N)" session state, which says which SMTP stage failed.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, addresses_in, first_address, split_original
from parsers.bounce.rfc3464 import merge_alternative, parse_status_text
from parsers.dsn import Failure
from parsers.records import Reason
from parsers.status import find_status, reason_of_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:gmail"
_SENDER = "<mailer-daemon@googlemail.com>"
_BOUNDARIES = ("----- Original message -----", "----- Message header follows -----")
# Google's SMTP client session states ("... (state 14).") -> (command, reason)
_STATES = {
    "6": ("MAIL", "systemerror"),
    "8": ("AUTH", "systemerror"),
    "9": ("AUTH", "systemerror"),
    "12": ("AUTH", "norelaying"),
    "13": ("EHLO", "blocked"),
    "14": ("RCPT", "userunknown"),
    "15": ("DATA", "filtered"),
    "17": ("DATA", "filtered"),
    "18": ("DATA", "filtered"),
}
_GMAIL_MESSAGES = {
    "expired": (
        "dns error: could not contact dns servers",
        "delivery to the following recipient has been delayed",
        "the recipient server did not accept our requests to connect",
    ),
    "hostunknown": (
        "dns error: domain name not found",
        "dns error: dns server returned answer with no data",
    ),
}
_WORKSPACE_MESSAGES = {
    "userunknown": ("because the address couldn't be found. check for typos",),
    "notaccept": ("null mx",),
    "networkerror": (" had no relevant answers.", " responded with code nxdomain"),
}
_STATE = re.compile(r"\(state (\d+)\)\.?\s*$")
_REMOTE = re.compile(r" by ([A-Za-z0-9.-]+?)\.? \[([0-9A-Fa-f.:]+)\]\. ")
# The four reasons Groups lists, one "* " each: at line starts, or inside a re-wrapped line
_BULLET = re.compile(r"^ ?\*|(?<=[^\S\n])\*(?=\s)", re.MULTILINE)


def _gmail(ctx: Context) -> list[Failure]:
    notice, _original = split_original(ctx.text, _BOUNDARIES)
    failures: list[Failure] = []
    reading = False
    text: list[str] = []
    for line in notice.split("\n"):
        reading = reading or line.startswith("Delivery to the following recipient")
        if not reading or not line.strip():
            continue
        if line.startswith(" ") and "@" in line and first_address(line.split()[-1]):
            failures.append(Failure(address=first_address(line.split()[-1])))
            if not text[1:]:  # the text so far belongs to the first recipient only
                failures[-1].diagnostic = " ".join(text)
            if "has been delayed" in " ".join(text):
                failures[-1].action = "delayed"
        else:
            text.append(line.strip())
            if failures:
                failures[-1].diagnostic += f" {line.strip()}"
    for failure in failures:
        _gmail_reason(failure)
    return failures


def _gmail_reason(failure: Failure) -> None:
    diagnostic = " ".join(failure.diagnostic.split())
    failure.diagnostic = diagnostic
    remote = _REMOTE.search(diagnostic)
    if remote:
        host, address = remote.groups()
        failure.remote_mta = host if host[-1:].isalpha() else address
    state = _STATE.search(diagnostic)
    if state and state.group(1) in _STATES:
        failure.command, failure.reason = _STATES[state.group(1)]
    else:
        lowered = diagnostic.lower()
        for reason, phrases in _GMAIL_MESSAGES.items():
            if any(p in lowered for p in phrases):
                failure.reason = reason
                break
    if not failure.reason:
        return
    status = find_status(diagnostic) or ""
    failure.status = status
    if status and ".0" not in status:
        implied = reason_of_status(status)
        failure.reason = implied.value if implied is not None else ""


def _groups(ctx: Context) -> list[Failure]:
    notice, _original = split_original(ctx.text, _BOUNDARIES)
    reason = Reason.REJECTED if len(_BULLET.findall(notice)) == 4 else Reason.ON_HOLD
    paragraphs = notice.split("\n\n")[:4]
    diagnostic = " ".join(" ".join(paragraphs).split())
    return [
        Failure(address=a, reason=reason.value, diagnostic=diagnostic)
        for a in addresses_in(ctx.header("X-Failed-Recipients"))
    ]


def _workspace(ctx: Context) -> list[Failure]:
    human, _original, failures = parse_status_text(ctx.text)
    lines: list[str] = []
    blanks = 0
    for line in human.split("\n"):
        if not lines and not line.startswith("** "):
            continue
        if not line.strip():
            blanks += 1
            if blanks > 5:
                break
            continue
        if not line.startswith("Content-Type:"):
            lines.append(line.strip())
    another = " ".join(lines)
    for failure in failures:
        merge_alternative(failure, another)
        lowered = failure.diagnostic.lower()
        for reason, phrases in _WORKSPACE_MESSAGES.items():
            if any(p in lowered for p in phrases):
                failure.reason = reason
                break
    return failures


def parse(ctx: Context) -> Parsed | None:
    """Bounces generated by Google's outbound MTAs."""
    if _SENDER not in ctx.from_.lower():
        return None
    # the Subject is localised or rewritten by gateways; Groups' headers are not
    if "delivery status notification" not in ctx.subject.lower() and not ctx.has(
        "X-Failed-Recipients"
    ):
        return None
    failures: list[Failure] = []
    family = FAMILY
    if ctx.has("X-Gm-Message-State"):
        failures, family = _workspace(ctx), "lhost:gsuite"
    if not failures and ctx.has("X-Failed-Recipients") and ctx.has("X-Google-Smtp-Source"):
        failures, family = _groups(ctx), "lhost:googlegroups"
    if not failures:
        failures, family = _gmail(ctx), FAMILY
    if not failures:
        return None
    _notice, original = split_original(ctx.text, _BOUNDARIES)
    return Parsed(family, failures, original)
