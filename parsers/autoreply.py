"""Auto-replies: RFC 3834 ``Auto-Submitted`` and the vacation notices that ignore it.

An auto-reply is not a bounce: the mailbox exists and someone is away. We report it (kind
``auto-reply``, reason ``vacation``) so that a sender does not count it as a failure and a
list manager can see who is away. Signals, strongest first: RFC 3834 header fields and the
vendor ones (Exchange ``X-Auto-Response-Suppress``, Apple ``X-Apple-Action``,
``X-Autoreply``, ``Precedence: auto_reply``), then a responder's subject prefix, then the
body alone (many responders send neither): the writer saying they are away together with
what a notice says beside it (until when, whom to contact), in any of the languages of
``parsers.autoreply_phrases``. Messages from postmaster/mailer-daemon/root are never
auto-replies (they are bounces or system mail).
"""

from __future__ import annotations

import re
from email.message import Message

from parsers.autoreply_phrases import LANGUAGES
from parsers.dsn import Failure, clean_address
from parsers.mime import decode_header_value
from parsers.phrases import fold
from parsers.phrases.compile import alt

__all__ = ["detect_autoreply"]

_AUTO_SUBMITTED = re.compile(r"^\s*auto-(?:replied|generated|notified)", re.IGNORECASE)
_HEADER_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("X-Autoreply", re.compile(r"yes|true|1", re.IGNORECASE)),
    ("X-Autorespond", re.compile(r".")),
    ("X-Auto-Response-Suppress", re.compile(r"oof|autoreply", re.IGNORECASE)),
    ("X-Apple-Action", re.compile(r"^\s*vacation\s*$", re.IGNORECASE)),
    ("Precedence", re.compile(r"^\s*auto[_-]reply\s*$", re.IGNORECASE)),
    ("X-Vacation", re.compile(r".")),
)


# A responder's subject prefix ("Automatic reply: ", "Abwesenheitsnotiz: ", "自動応答:"),
# after any "Re:"/"AW:" a client added
_PREFIXES = "|".join(f"(?:{p})" for lang in LANGUAGES.values() for p in lang["SUBJECT"])
_SUBJECT = re.compile(rf"^\s*(?:(?:re|aw|sv|vs|antw|r)\s*:\s*)?(?:{_PREFIXES})")
# looked for as phrase sets (each phrase only where its plain words are): one alternation
# of every language's phrases cost milliseconds per message
_AWAY = alt([p for lang in LANGUAGES.values() for p in lang["AWAY"]])
_CUES = alt([p for lang in LANGUAGES.values() for p in lang["CUES"]])
#: Characters of the reply's own text read for its wording (a notice is short).
_HEAD = 2000
# Where the quoted original begins: "On ... wrote:", "Le ... a ecrit :", "Am ... schrieb",
# Outlook's "-----Original Message-----" and its translations, a "From:" line
_QUOTED = re.compile(
    r"^(?:>|-{2,}\s*(?:original|urspr|message d'origine|mensaje original|messaggio originale)"
    r"|from:|de:|von:|van:|da:|от:|on .{1,200} wrote:|le .{1,200} a ecrit|am .{1,200} schrieb)",
    re.MULTILINE,
)
_EXCLUDED_FROM = re.compile(r"(?:root|postmaster|mailer-daemon)@", re.IGNORECASE)
_EXCLUDED_SUBJECT = re.compile(r"security information for|mail failure -", re.IGNORECASE)


def _decoded(msg: Message, name: str) -> str:
    value = msg.get(name)
    return decode_header_value(value) if value is not None else ""


def _signalled(msg: Message, subject: str, body: str) -> bool:
    if _AUTO_SUBMITTED.match(_decoded(msg, "Auto-Submitted")):
        return True
    for name, pattern in _HEADER_SIGNALS:
        value = _decoded(msg, name)
        if value and pattern.search(value):
            return True
    if _SUBJECT.search(fold(subject.lower())):
        return True
    return _away_notice(body)


def _away_notice(body: str) -> bool:
    """The reply's own text (before any quoted original) says its writer is away, and what
    a notice says beside it (until when, the return, whom to contact)."""
    text = fold(body[: _HEAD * 2].lower())
    quoted = _QUOTED.search(text)
    own = text[: quoted.start()] if quoted is not None else text
    return _AWAY.search(own[:_HEAD]) and _CUES.search(own)


def _summary(body: str, subject: str) -> str:
    lines = [line.strip() for line in body.split("\n") if " " in line.strip()]
    text = " ".join(lines[:5])
    return " ".join(text.split())[:1000] or subject


def detect_autoreply(msg: Message, body: str) -> Failure | None:
    """The replying address as a ``vacation`` record, or None if ``msg`` is no auto-reply."""
    sender = _decoded(msg, "From")
    subject = _decoded(msg, "Subject")
    if _EXCLUDED_FROM.search(sender) or _EXCLUDED_SUBJECT.search(subject):
        return None
    if not _signalled(msg, subject, body):
        return None
    address = clean_address(sender) or clean_address(_decoded(msg, "Return-Path"))
    if not address:
        return None
    return Failure(address=address, reason="vacation", diagnostic=_summary(body, subject))
