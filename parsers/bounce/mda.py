"""Errors of local delivery agents quoted in a bounce (Dovecot LDA, mail.local, procmail ...).

When the final hop is a local delivery agent, its own one-line error is the best
diagnostic ("maildrop: maildir over quota."), better than the generic "Service
unavailable" the MTA wraps around it. Used by the RFC 3464 reader.
"""

from __future__ import annotations

import re

from parsers.bounce.base import table_reason

__all__ = ["local_delivery_error"]

_AGENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dovecot", re.compile(r"^Your message to [^ ]+ was automatically rejected:$")),
    ("mail.local", re.compile(r"^mail\.local: ")),
    ("procmail", re.compile(r"^procmail: ")),
    ("maildrop", re.compile(r"^maildrop: ")),
    ("vpopmail", re.compile(r"^vdelivermail: ")),
    ("vmailmgr", re.compile(r"^vdeliver: ")),
)
# Each agent's own messages (dovecot quota plugin, mail.local.c, procmail, maildrop,
# vpopmail's vdelivermail, vmailmgr's vdeliver)
_MESSAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "dovecot": {
        "userunknown": ("mailbox doesn't exist: ",),
        "mailboxfull": ("quota exceeded", "not enough disk space"),
    },
    "mail.local": {
        "userunknown": (
            ": unknown user:",
            ": user unknown",
            ": invalid mailbox path",
            ": user missing home directory",
        ),
        "mailboxfull": ("disc quota exceeded", "mailbox full or quota exceeded"),
        "systemerror": ("temporary file write error",),
    },
    "procmail": {
        "mailboxfull": ("quota exceeded while writing",),
        "systemfull": ("no space left to finish writing",),
    },
    "maildrop": {
        "userunknown": ("invalid user specified.", "cannot find system user"),
        "mailboxfull": ("maildir over quota.",),
    },
    "vpopmail": {
        "userunknown": ("sorry, no mailbox here by that name.",),
        "filtered": (
            "account is locked email bounced",
            "user does not exist, but will deliver to ",
        ),
        "mailboxfull": ("domain is over quota", "user is over quota"),
    },
    "vmailmgr": {
        "userunknown": (
            "invalid or unknown base user or domain",
            "invalid or unknown virtual user",
            "user name does not refer to a virtual user",
        ),
        "mailboxfull": ("delivery failed due to system quota violation",),
    },
}
_SENDER = re.compile(r"^\s*\"?(?:mail delivery subsystem|mailer-daemon|postmaster)", re.I)


def local_delivery_error(sender: str, notice: str) -> tuple[str, str] | None:
    """(reason, the agent's message) when ``notice`` quotes a local delivery agent."""
    if not _SENDER.match(sender):
        return None
    agent = ""
    lines: list[str] = []
    for line in notice.split("\n"):
        if not agent:
            agent = next((name for name, p in _AGENTS if line and p.match(line)), "")
            if not agent:
                continue
        lines.append(line)
        if not line:
            break
    if not agent:
        return None
    for line in lines:
        reason = table_reason(line, _MESSAGES[agent])
        if reason:
            return reason, line
    return "", ""
