"""Auto-replies: RFC 3834 ``Auto-Submitted`` and the vacation notices that ignore it.

An auto-reply is not a bounce: the mailbox exists and someone is away. We report it (kind
``auto-reply``, reason ``vacation``) so that a sender does not count it as a failure and a
list manager can see who is away. Signals, strongest first: RFC 3834 header fields and the
vendor ones (Exchange ``X-Auto-Response-Suppress``, Apple ``X-Apple-Action``,
``X-Autoreply``, ``Precedence: auto_reply``), then subject prefixes and away-notice wording
in English, French, German, Spanish, Italian, Dutch, Portuguese, Japanese and Chinese.
Messages from postmaster/mailer-daemon/root are never auto-replies (they are bounces or
system mail).
"""

from __future__ import annotations

import re
from email.message import Message

from parsers.dsn import Failure, clean_address
from parsers.mime import decode_header_value

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
# Subject prefixes of auto-responders ("Auto: ", Outlook "Automatic reply: ", ...).
_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)?\s*:"
    r"|out of (?:the )?office\b|away until\b|on vacation\b|vacation reply"
    r"|r[ée]ponse automatique|abwesenheitsnotiz|automatische antwort|abwesend"
    r"|respuesta autom[áa]tica|risposta automatica|automatisch antwoord"
    r"|resposta autom[áa]tica|autosvar|自動応答|自動返信|不在|自动回复)",
    re.IGNORECASE,
)
# Away-notice wording, used when no header says "auto-replied" (RFC 3834 5.1 asks for one,
# but many responders omit it).
_BODY = re.compile(
    r"(?:i am|i'm|i will be) (?:currently )?(?:away|out of (?:the )?office|on (?:vacation|"
    r"holiday|leave))|returning to the office|limited access to (?:e-?mail|my e-?mail)"
    r"|je suis (?:absent|en cong[ée]s)|je serai absent|ich bin (?:bis|vom|derzeit|zur zeit)"
    r"|nicht im b[üu]ro|abwesend|estar[ée] fuera|estoy fuera de la oficina|de vacaciones"
    r"|sono in ferie|fuori ufficio|afwezig|ausente|不在にしております|休暇|外出しております"
    r"|目前不在",
    re.IGNORECASE,
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
    if _SUBJECT.search(subject):
        return True
    precedence = _decoded(msg, "Precedence").lower()
    return precedence in ("bulk", "junk", "list") and bool(_BODY.search(body[:4000]))


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
