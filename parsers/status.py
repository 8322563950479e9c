"""SMTP enhanced status codes (RFC 3463) and reply codes (RFC 5321) found in free text.

Bounce texts carry both kinds of code in every imaginable position: ``550-5.7.1`` continuation
lines, ``(#5.1.1)`` at the end of a qmail line, ``4.4.7`` inside a version string, an IPv4
address that looks like a status code. These helpers pick the code a human would pick.

The class-to-reason table follows the IANA "SMTP Enhanced Status Codes" registry and the
reason taxonomy of Sisimai 5 (BSD-2-Clause), whose labels our corpus uses; the private
``X.0.9nn`` codes are Sisimai's convention for "inferred from text, no code in the message".
"""

from __future__ import annotations

import re

from parsers.records import Reason

__all__ = [
    "find_command",
    "find_reply",
    "find_status",
    "is_permanent",
    "names_a_step",
    "prefer_status",
    "pseudo_status",
    "reason_of_status",
    "valid_reply",
    "valid_status",
]

_R = Reason

#: Reason implied by a well-defined enhanced status code (IANA registry, RFC 3463, 5248,
#: 7372, 7505). Codes absent here (X.0.0, 4.4.0, 5.7.1 ...) say too little on their own.
STATUS_REASON: dict[str, Reason] = {
    "2.1.5": _R.DELIVERED,  # destination address valid
    "4.1.6": _R.HAS_MOVED,  # mailbox has moved, no forwarding address
    "4.1.7": _R.REJECTED,  # bad sender's mailbox address syntax
    "4.1.8": _R.REJECTED,  # bad sender's system address
    "4.1.9": _R.SYSTEM_ERROR,  # relayed to non-compliant mailer
    "4.2.1": _R.SUSPEND,  # mailbox disabled
    "4.2.2": _R.MAILBOX_FULL,
    "4.2.3": _R.EXCEED_LIMIT,  # message length exceeds administrative limit
    "4.2.4": _R.FILTERED,  # mailing list expansion problem
    "4.3.1": _R.SYSTEM_FULL,
    "4.3.2": _R.NOT_ACCEPT,  # system not accepting network messages
    "4.3.3": _R.SYSTEM_ERROR,
    "4.3.5": _R.SYSTEM_ERROR,
    "4.4.1": _R.EXPIRED,  # no answer from host
    "4.4.2": _R.NETWORK_ERROR,  # bad connection
    "4.4.3": _R.SYSTEM_ERROR,  # directory server failure
    "4.4.4": _R.NETWORK_ERROR,  # unable to route
    "4.4.5": _R.SYSTEM_FULL,  # mail system congestion
    "4.4.6": _R.NETWORK_ERROR,  # routing loop
    "4.4.7": _R.EXPIRED,  # delivery time expired
    "4.4.8": _R.NETWORK_ERROR,  # retry on IPv4 (draft-martin-smtp-ipv6-to-ipv4-fallback)
    "4.5.3": _R.SYSTEM_ERROR,
    "4.5.5": _R.SYSTEM_ERROR,
    "4.6.0": _R.CONTENT_ERROR,
    "4.6.2": _R.CONTENT_ERROR,
    "4.6.5": _R.CONTENT_ERROR,
    "4.7.1": _R.BLOCKED,  # delivery not authorized (as a transient answer: a block)
    "4.7.2": _R.BLOCKED,
    "4.7.5": _R.SECURITY_ERROR,
    "4.7.6": _R.SECURITY_ERROR,
    "4.7.7": _R.SECURITY_ERROR,
    "4.7.12": _R.SECURITY_ERROR,
    "4.7.15": _R.SECURITY_ERROR,
    "4.7.16": _R.MESG_TOO_BIG,
    "4.7.24": _R.AUTH_FAILURE,  # SPF validation error (RFC 7372)
    "4.7.25": _R.REQUIRE_PTR,  # reverse DNS validation failed (RFC 7372)
    "4.7.26": _R.AUTH_FAILURE,  # multiple authentication checks failed (RFC 7372)
    "5.1.0": _R.USER_UNKNOWN,
    "5.1.1": _R.USER_UNKNOWN,  # bad destination mailbox address
    "5.1.2": _R.HOST_UNKNOWN,  # bad destination system address
    "5.1.3": _R.USER_UNKNOWN,  # bad destination mailbox address syntax
    "5.1.4": _R.FILTERED,  # destination mailbox address ambiguous
    "5.1.6": _R.HAS_MOVED,
    "5.1.7": _R.REJECTED,
    "5.1.8": _R.REJECTED,
    "5.1.9": _R.SYSTEM_ERROR,
    "5.1.10": _R.NOT_ACCEPT,  # recipient address has null MX (RFC 7505)
    "5.2.0": _R.FILTERED,
    "5.2.1": _R.FILTERED,  # mailbox disabled, not accepting messages
    "5.2.2": _R.MAILBOX_FULL,
    "5.2.3": _R.EXCEED_LIMIT,
    "5.2.4": _R.FILTERED,
    "5.3.0": _R.SYSTEM_ERROR,
    "5.3.1": _R.SYSTEM_FULL,
    "5.3.2": _R.NOT_ACCEPT,
    "5.3.3": _R.SYSTEM_ERROR,
    "5.3.4": _R.MESG_TOO_BIG,
    "5.3.5": _R.SYSTEM_ERROR,
    "5.4.0": _R.NETWORK_ERROR,
    "5.4.3": _R.SYSTEM_ERROR,
    "5.4.4": _R.HOST_UNKNOWN,  # unable to route
    "5.5.2": _R.SYNTAX_ERROR,
    "5.5.3": _R.TOO_MANY_CONN,  # too many recipients
    "5.5.4": _R.SYSTEM_ERROR,
    "5.5.5": _R.SYSTEM_ERROR,
    "5.5.6": _R.SYNTAX_ERROR,
    "5.6.0": _R.CONTENT_ERROR,
    "5.6.1": _R.CONTENT_ERROR,
    "5.6.2": _R.CONTENT_ERROR,
    "5.6.3": _R.CONTENT_ERROR,
    "5.6.5": _R.CONTENT_ERROR,
    "5.6.6": _R.CONTENT_ERROR,
    "5.6.7": _R.CONTENT_ERROR,
    "5.6.8": _R.CONTENT_ERROR,
    "5.6.9": _R.CONTENT_ERROR,
    **{f"5.7.{n}": _R.SECURITY_ERROR for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15)},
    "5.7.13": _R.SUSPEND,  # user account disabled (RFC 5248)
    "5.7.16": _R.MESG_TOO_BIG,
    "5.7.17": _R.HAS_MOVED,  # mailbox owner has changed (RFC 6710)
    "5.7.18": _R.HAS_MOVED,  # domain owner has changed
    "5.7.19": _R.SECURITY_ERROR,
    "5.7.20": _R.AUTH_FAILURE,  # no passing DKIM signature (RFC 7372)
    "5.7.21": _R.AUTH_FAILURE,
    "5.7.22": _R.AUTH_FAILURE,
    "5.7.23": _R.AUTH_FAILURE,  # SPF validation failed
    "5.7.24": _R.AUTH_FAILURE,
    "5.7.25": _R.REQUIRE_PTR,
    "5.7.26": _R.AUTH_FAILURE,
    "5.7.27": _R.NOT_ACCEPT,  # sender address has null MX
    "5.7.28": _R.SPAM_DETECTED,  # mail flood of similar abusive messages
    "5.7.29": _R.AUTH_FAILURE,  # ARC validation failure
    "5.7.30": _R.SECURITY_ERROR,  # REQUIRETLS support required
}

#: Private "X.0.9nn" codes used when a message states no status and we infer it from text.
_PSEUDO = {
    _R.AUTH_FAILURE: "972",
    _R.BAD_REPUTATION: "975",
    _R.BLOCKED: "971",
    _R.CONTENT_ERROR: "960",
    _R.EXCEED_LIMIT: "923",
    _R.EXPIRED: "947",
    _R.FILTERED: "910",
    _R.HAS_MOVED: "916",
    _R.HOST_UNKNOWN: "912",
    _R.MAILBOX_FULL: "922",
    _R.MAILER_ERROR: "939",
    _R.MESG_TOO_BIG: "934",
    _R.NETWORK_ERROR: "944",
    _R.NO_RELAYING: "909",
    _R.NOT_ACCEPT: "932",
    _R.NOT_COMPLIANT_RFC: "974",
    _R.ON_HOLD: "901",
    _R.POLICY_VIOLATION: "972",
    _R.REJECTED: "918",
    _R.REQUIRE_PTR: "973",
    _R.SECURITY_ERROR: "970",
    _R.SPAM_DETECTED: "980",
    _R.SPEEDING: "946",
    _R.SUSPEND: "921",
    _R.SYSTEM_ERROR: "930",
    _R.SYSTEM_FULL: "931",
    _R.SYNTAX_ERROR: "902",
    _R.TOO_MANY_CONN: "945",
    _R.USER_UNKNOWN: "911",
    _R.UNDEFINED: "900",
    _R.VIRUS_DETECTED: "971",
}
#: Reasons that only make sense as permanent: their pseudo code stays 5.x even when the
#: text says "temporary" (a user is unknown or not; a filter is not transient).
_PERMANENT_ONLY = frozenset(
    {
        _R.EXCEED_LIMIT,
        _R.HAS_MOVED,
        _R.HOST_UNKNOWN,
        _R.MAILER_ERROR,
        _R.MESG_TOO_BIG,
        _R.NO_RELAYING,
        _R.POLICY_VIOLATION,
        _R.SUSPEND,
        _R.SYNTAX_ERROR,
        _R.USER_UNKNOWN,
        _R.VIRUS_DETECTED,
    }
)
_FILTERED_TEMPORARY = "4.0.924"

# Reply codes in the order we prefer them when several appear (RFC 5321 4.2, 4.2.3;
# RFC 4954, 5248, 7504 additions). Order matters: "550" before "554" because a transcript
# "554 5.0.0 Service unavailable" trailer often follows the real "550" answer.
_REPLY_5 = (
    *("550", "552", "553", "551", "521", "525", "502", "520", "523", "524", "530"),
    *("533", "534", "535", "538", "555", "556", "554", "500", "501", "503", "504"),
)
_REPLY_4 = (
    *("421", "450", "451", "452", "422", "430", "432"),
    *("453", "454", "455", "456", "458", "459"),
)
_REPLY_2 = ("211", "214", "220", "221", "235", "250", "251", "252", "253", "354")
_REPLY_BY_CLASS = {"5": _REPLY_5, "4": _REPLY_4, "2": _REPLY_2}
_REPLY_ALL = (*_REPLY_5, *_REPLY_4, *_REPLY_2)

# r"\b(?:\d{1,3}\.){3}\d{1,3}\b", written to start with a digit (the regex engine then
# skips to digits) and the leading \b as a look-behind from after that digit
_IPV4 = re.compile(r"\d(?<!\w\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}\b")
# The last three dots of a dotted quad, found from dot to dot (a literal the regex engine
# skips to): a text without them has nothing for _IPV4, which tests every character for a
# digit, to scrub (find_status: 19.3 -> 16.2 million instructions over the corpus, callgrind)
_QUAD_DOTS = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
# "5.1.1", "4.7.26", "5.7.509"; not preceded by a digit, dot, slash or a "v" (versions)
# r"(?<![0-9./vV])[245]\.[0-7]\.[0-9]{1,3}(?![0-9])", written to start with the first dot
# and to look behind from it for the class digit: a match starts one character after its
# code. The regex engine skips from dot to dot, where for a first [245] it tests a set at
# every character (find_status: 22.2 -> 9.7 million instructions over the corpus, callgrind)
_STATUS = re.compile(r"\.(?<=[245]\.)(?<![0-9./vV][245]\.)[0-7]\.[0-9]{1,3}(?![0-9])")
# A run of exactly three digits: the only places a reply code can stand alone
_THREE_DIGITS = re.compile(r"[0-9](?<![0-9][0-9])[0-9]{2}(?![0-9])")
_VALID_STATUS = re.compile(r"[245]\.[0-7]\.[0-9]{1,3}")


def valid_status(code: str | None) -> bool:
    """True for a syntactically valid RFC 3463 ``class.subject.detail`` code."""
    return bool(code) and _VALID_STATUS.fullmatch(code or "") is not None


def valid_reply(code: str | None) -> bool:
    """True for a reply code RFC 5321 section 4.2 allows as a final or 354 answer."""
    if not code or not code.isdigit() or len(code) != 3:
        return False
    value = int(code)
    if value < 200 or value > 559 or value % 100 > 59:
        return False
    if value // 100 == 2:
        return value == 235 or (211 <= value <= 252 and not 221 < value < 250)
    if value // 100 == 3:
        return value == 354
    return True


def find_status(text: str | None, reply_class: str | None = None) -> str | None:
    """The most specific enhanced status code in ``text``, or None.

    ``X.0.0`` and ``4.4.7`` are kept only as a fallback: a later, more specific code in the
    same text describes the failure better (e.g. ``4.4.7 ... 5.1.1 user unknown``). With
    ``reply_class`` ("4"/"5"/"2") only codes of that class are considered.
    """
    if not text or len(text) < 5:
        return None
    if "." not in text or _STATUS.search(text) is None:
        # scrubbing addresses only removes codes: a text without one needs no scrubbing
        return None
    scrubbed = _IPV4.sub("***.***.***.***", text) if _QUAD_DOTS.search(text) else text
    fallback = None
    for match in _STATUS.finditer(scrubbed):
        start = match.start() - 1  # the class digit, before the dot the match starts at
        if reply_class and scrubbed[start] != reply_class[0]:
            continue
        code = scrubbed[start : match.end()]
        if code[1:] == ".0.0" or code == "4.4.7":
            fallback = fallback or code
            continue
        return code
    return fallback


def find_reply(text: str | None, status_class: str | None = None) -> str | None:
    """The SMTP reply code in ``text``, preferring the codes that explain a failure best.

    Mirrors how people read transcripts: the code must stand alone (not part of a larger
    number, a dotted quad or a status code) and ``X-Unix;`` mailer texts have none.
    """
    if not text or len(text) < 3 or "x-unix;" in text.lower():
        return None
    runs = set(_THREE_DIGITS.findall(text))
    if not runs:
        return None
    candidates = _REPLY_BY_CLASS.get((status_class or "")[:1], _REPLY_ALL)
    padded = f" {text} "
    # A code that is no three-digit run cannot stand alone anywhere; for the others the
    # first occurrence decides, as it always has.
    for code in candidates:
        if code not in runs:
            continue
        index = padded.find(code)
        if index < 0:
            continue
        before, after = padded[index - 1], padded[index + 3]
        if before.isdigit() or before in "./" or after.isdigit() or after in "./":
            continue
        return code
    return None


def reason_of_status(code: str | None) -> Reason | None:
    """The reason a status code implies by itself, or None when it says too little."""
    if not code:
        return None
    return STATUS_REASON.get(code)


def pseudo_status(reason: Reason, *, permanent: bool = True) -> str | None:
    """A private ``X.0.9nn`` status for a failure whose message states none."""
    if not permanent and reason is _R.FILTERED:
        return _FILTERED_TEMPORARY
    detail = _PSEUDO.get(reason)
    if detail is None:
        return None
    klass = "5" if permanent or reason in _PERMANENT_ONLY else "4"
    return f"{klass}.0.{detail}"


def is_permanent(text: str | None) -> bool | None:
    """Permanent (True), temporary (False) or unknown (None) judging by codes, then words."""
    if not text:
        return None
    code = find_status(text) or find_reply(text) or ""
    if code[:1] == "5":
        return True
    if code[:1] == "4":
        return False
    if code[:1] == "2":
        return None
    lowered = text.lower()
    if "temporar" in lowered or "persistent" in lowered:
        return False
    if "permanent" in lowered:
        return True
    return None


def _prefer_by_reply(field: str, in_text: str, reply: str | None) -> str | None:
    """When the two codes disagree on the class, the reply code's class decides."""
    reply_class = (reply or "")[:1]
    if reply_class in ("2", "4", "5") and field[0] != in_text[0]:
        if reply_class == field[0]:
            return field
        if reply_class == in_text[0]:
            return in_text
    return None


def _prefer_specific(field: str, in_text: str) -> str:
    """Prefer whichever code is more specific (not X.0.0, not 4.4.7, not a 5.3.x guess)."""
    if field[1:] == ".0.0":
        return field if in_text[1:] == ".0.0" else in_text
    if ".0" in field and ".0" not in in_text:
        return in_text
    if in_text[1:] == ".0.0":
        return field
    if field == "4.4.7" or field.startswith("5.3."):
        return in_text
    if field == "5.1.1":
        return field if ".0" in in_text else in_text
    if field == "5.1.3" and in_text.startswith("5.7."):
        return in_text
    return field


def prefer_status(field: str | None, in_text: str | None, reply: str | None) -> str | None:
    """Choose between the Status: field and the code quoted in the diagnostic text.

    Reporting MTAs often write a generic ``5.0.0`` while the remote answer says ``5.1.1``;
    and some write a specific but wrong class. RFC 3464 2.3.4 wants the most specific code.
    """
    if not field or len(field) < 5:
        return in_text or field
    if not in_text or len(in_text) < 5 or field == in_text:
        return field
    return _prefer_by_reply(field, in_text, reply) or _prefer_specific(field, in_text)


# SMTP verbs in session order; the latest one a text mentions is the one that failed.
_COMMANDS = (
    ("HELO", "HELO"),
    ("EHLO", "EHLO"),
    ("STARTTLS", "STARTTLS"),
    ("AUTH ", "AUTH"),
    ("MAIL F", "MAIL"),
    ("RCPT", "RCPT"),
    ("DATA", "DATA"),
    ("BDAT", "DATA"),
    ("QUIT", "QUIT"),
)


# How MTAs say which step of the session failed, in any case: Postfix "in reply to RCPT TO
# command", Exim "after RCPT TO:", "after end of data", "after initial connection",
# Sendmail ">>> RCPT To:", DragonFly "did not like our RCPT TO", qmail-remote.c "does not
# like recipient", "but sender was rejected", "but greeting failed", "but my name was
# rejected", "failed on DATA command", "failed after I sent the message".
_STAGE = re.compile(
    r"(?:in reply to|after|while sending|in response to|did not like our|>>>)[ \t]+"
    r"(?:the[ \t]+)?(?:end[ \t]+of[ \t]+)?(mail[ \t]+from|rcpt[ \t]+to|data|bdat|helo|ehlo|starttls"
    r"|auth|initial[ \t]+connection)\b"
    r"|does not like (recipient|sender)\b|but (sender) was rejected|but (greeting) failed"
    r"|but my (name) was rejected|failed on (data) command|failed after i sent the (message)"
)
_STAGE_COMMAND = {
    "mail": "MAIL",
    "rcpt": "RCPT",
    "data": "DATA",
    "bdat": "DATA",
    "message": "DATA",
    "helo": "HELO",
    "ehlo": "EHLO",
    "name": "EHLO",
    "starttls": "STARTTLS",
    "auth": "AUTH",
    "initial": "CONN",
    "greeting": "CONN",
    "recipient": "RCPT",
    "sender": "MAIL",
}


# Text every match of _STAGE contains (the regex runs only where one is present)
_STAGE_CUES = (
    *("reply to ", "after ", "while sending", "did not like", ">>>", "does not like"),
    *("was rejected", "greeting failed", "failed on", "failed after", "response to"),
)


_COMMAND_CUES = (*(token.lower() for token, _ in _COMMANDS), *_STAGE_CUES, "(state ")

# Gmail's outbound MTA ends its notices with the SMTP client state it failed in: "(state 14)."
_GMAIL_STATE = re.compile(r"\(state (\d{1,2})\)")
_GMAIL_STATES = {"6": "MAIL", "8": "AUTH", "9": "AUTH", "12": "AUTH", "13": "EHLO", "14": "RCPT"}
_GMAIL_STATES |= dict.fromkeys(("15", "17", "18"), "DATA")


def _stage(text: str) -> str | None:
    """The command a diagnostic names in one of ``_STAGE``'s phrasings."""
    lowered = text.lower()
    if "(state " in lowered:
        state = _GMAIL_STATE.search(lowered)
        if state is not None and state.group(1) in _GMAIL_STATES:
            return _GMAIL_STATES[state.group(1)]
    if not any(cue in lowered for cue in _STAGE_CUES):
        return None
    found = None
    for match in _STAGE.finditer(lowered):
        word = next(g for g in match.groups() if g).split()[0]
        found = _STAGE_COMMAND.get(word, found)
    return found


def names_a_step(lowered: str) -> bool:
    """False when ``find_command`` finds nothing in the text ``lowered`` is the lower-cased
    form of (every verb and phrasing it reads holds one of these; an ASCII text, where
    case mapping makes no other letters into them): a cheap test before it."""
    return any(cue in lowered for cue in _COMMAND_CUES)


def find_command(text: str | None) -> str | None:
    """The SMTP command a diagnostic blames ("in reply to RCPT TO command" -> "RCPT").

    Commands are matched in upper case and must stand alone, so ``DATABASE@example`` or
    ``rcpt.example.net`` do not count; a text naming none in upper case is read for the
    phrasings MTAs use in any case (``_STAGE``: "after rcpt to:", "does not like
    recipient").
    """
    if not text or len(text) < 4:
        return None
    found = None
    for token, command in _COMMANDS:
        start = text.find(token)
        while start >= 0:
            before = text[start - 1] if start else " "
            end = start + len(token)
            after = text[end] if end < len(text) else " "
            boundary = not (before.isalnum() or after.isalnum() or "@" in before + after)
            if " " in token or boundary:
                found = command
                break
            start = text.find(token, start + 1)
    return found or _stage(text)
