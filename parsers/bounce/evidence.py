"""What the notice says about one recipient, read without knowing the MTA's layout.

Family modules read a bounce by its layout: Exim indents each address by two spaces and its
error by four, qmail writes ``<address>:`` on a line of its own, Sendmail puts the reason in
``(reason: ...)``. When a gateway re-wraps the text, an administrator rewrites the template,
or an MTA nobody sampled writes its own, those readers find the recipient (often from
``X-Failed-Recipients`` or the DSN fields) but not what was said about it, and the recipient
comes out ``onhold``/``undefined`` while a postmaster reading the notice sees "User unknown".

``window`` is that reading: the notice text from the recipient's first mention up to the
next recipient's (with the lines just before the first mention, where "Mailbox full:
<address>" layouts put the reason), collapsed to one line. ``parsers`` classifies it when
a recipient's own diagnostic left the reason open (issue 18, point 2).
"""

from __future__ import annotations

import re

from parsers.bounce.base import split_original
from parsers.mime import STATUS_MARK

__all__ = ["notice_of", "remote_host", "window"]

#: Characters of notice kept before a recipient's first mention, and after it at most.
BEFORE = 300
AFTER = 1200
#: A notice longer than this is cut: the part that speaks about recipients comes first.
MAX_NOTICE = 20_000

# The returned message starts at one of these (text.BOUNDARIES less the MIME marks, which
# split_original adds), or where a line announces it.
_BOUNDARIES = (
    "------ This is a copy of the message",
    "--- Below this line is a copy of the message",
    "----- Original message -----",
    "--- The header of the original message is following",
    "Original message follows",
    "Original message headers follow",
    "original message follows",
    "Message headers follow",
    "----- Unsent message follows -----",
    "------ Undelivered message follows ------",
    "The original message was:",
    "-----Original Message-----",
    "Content-Type: text/rfc822-headers",
)
_RETURNED_HEADERS = re.compile(
    r"^(?:return-path|received|message-id|dkim-signature|x-mailer|mime-version):", re.I | re.M
)


def notice_of(text: str) -> str:
    """The report's own words: the flattened text before the DSN fields and the enclosure."""
    notice, _original = split_original(text[:MAX_NOTICE], _BOUNDARIES)
    marker = notice.find(STATUS_MARK)
    if marker >= 0:
        notice = notice[:marker]
    header = _RETURNED_HEADERS.search(notice)
    if header is not None and header.start() > 0:
        notice = notice[: header.start()]
    return notice


def _squash(text: str) -> str:
    return " ".join(text.split())


def window(notice: str, address: str, others: list[str]) -> str:
    """The notice text about ``address`` (see the module docstring), or "".

    ``others`` are the report's other recipients: the window stops where one of them is
    first named after ``address``. A notice that never names the address speaks about it
    only when it is the report's one recipient.
    """
    if not notice.strip() or not address:
        return ""
    lowered = notice.lower()
    start = lowered.find(address.lower())
    if start < 0:
        return _squash(notice)[:2000] if not others else ""
    end = min(len(notice), start + AFTER)
    for other in others:
        if other and other.lower() != address.lower():
            found = lowered.find(other.lower(), start + len(address))
            if 0 <= found < end:
                end = found
    first = all(lowered.find(o.lower()) < 0 or lowered.find(o.lower()) > start for o in others if o)
    if first:
        head = notice.rfind("\n", 0, max(0, start - BEFORE)) + 1
        start = head if start - head <= BEFORE * 2 else start - BEFORE
    else:
        start = notice.rfind("\n", 0, start) + 1
    return _squash(notice[start:end])


# How notices name the server that answered: Postfix "host mx.example.org[192.0.2.1] said:",
# Exim "host mx.example.org [192.0.2.1]:", Sendmail "... while talking to mx.example.org.:",
# qmail "Giving up on 192.0.2.1", Postfix "connect to mx.example.org[...]: ..."
_REMOTE = re.compile(
    r"\bhost ([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)\.? ?\["
    r"|\b(?:while talking to|connect(?:ing|ed)? to|remote host|giving up on) "
    r"\[?([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)


_REMOTE_CUES = ("host ", "talking to", "connect", "giving up")


def remote_host(text: str) -> str:
    """The host name (or address) of the server whose answer ``text`` quotes, or ""."""
    lowered = text.lower()
    if not any(cue in lowered for cue in _REMOTE_CUES):
        return ""
    match = _REMOTE.search(text)
    if match is None:
        return ""
    return (match.group(1) or match.group(2)).rstrip(".").lower()
